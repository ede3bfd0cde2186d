//! The radius search: zip codes within R miles of another, by MySQL's
//! `ST_Distance_Sphere`, prefiltered by a bounding box on the (LATITUDE, LONGITUDE)
//! index so that only a few hundred rows are ever measured.

use serde::Serialize;
use sqlx::MySqlPool;

use crate::DbError;

/// Miles per meter, as the prototype converted `ST_Distance_Sphere`'s meters.
pub const MILES_PER_METER: f64 = 0.000621371192;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbor {
    pub zipcode: String,
    pub miles: f64,
}

/// Latitude and longitude ranges that contain every point within the radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_latitude: f64,
    pub max_latitude: f64,
    pub min_longitude: f64,
    pub max_longitude: f64,
}

/// Smaller than any radius a sphere model uses (MySQL and MariaDB: 6,370,986 m), so
/// the box errs on the large side.
const MIN_EARTH_RADIUS_MILES: f64 = 3_949.0;
/// Covers the rounding between the stored decimals and the single-precision points.
const MARGIN_DEGREES: f64 = 0.01;

/// A box around `(latitude, longitude)` that no point within `miles` lies outside.
/// Near a pole or across the antimeridian it spans every longitude: correct, and rare.
pub fn bounding_box(latitude: f64, longitude: f64, miles: f64) -> BoundingBox {
    let degrees = (miles / MIN_EARTH_RADIUS_MILES).to_degrees() + MARGIN_DEGREES;
    let min_latitude = (latitude - degrees).max(-90.0);
    let max_latitude = (latitude + degrees).min(90.0);
    let widest = min_latitude.abs().max(max_latitude.abs());
    let cos = widest.to_radians().cos();
    let longitude_degrees = if cos > 1e-6 { degrees / cos } else { f64::INFINITY };
    let (min_longitude, max_longitude) =
        if longitude - longitude_degrees < -180.0 || longitude + longitude_degrees > 180.0 {
            (-180.0, 180.0)
        } else {
            (longitude - longitude_degrees, longitude + longitude_degrees)
        };
    BoundingBox { min_latitude, max_latitude, min_longitude, max_longitude }
}

/// The zip codes within `miles` of `zipcode` (itself excluded), nearest first, ties by
/// zip code.
pub async fn near(pool: &MySqlPool, zipcode: &str, miles: f64) -> Result<Vec<Neighbor>, DbError> {
    if !miles.is_finite() || miles < 0.0 {
        return Err(DbError::BadRadius(miles));
    }
    let center: Option<(Option<f64>, Option<f64>)> =
        sqlx::query_as("SELECT CAST(LATITUDE AS DOUBLE), CAST(LONGITUDE AS DOUBLE) FROM ZIPCODES WHERE ZIPCODE = ?")
            .bind(zipcode)
            .fetch_optional(pool)
            .await
            .map_err(DbError::sql("looking up the zip code"))?;
    let (latitude, longitude) = match center {
        None => return Err(DbError::UnknownZipcode(zipcode.to_owned())),
        Some((Some(latitude), Some(longitude))) => (latitude, longitude),
        Some(_) => return Err(DbError::NoCoordinates(zipcode.to_owned())),
    };
    let bbox = bounding_box(latitude, longitude, miles);
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "SELECT z.ZIPCODE, ST_Distance_Sphere(z.COORDS, c.COORDS) * 0.000621371192 AS MILES \
         FROM ZIPCODES z JOIN (SELECT COORDS FROM ZIPCODES WHERE ZIPCODE = ?) c \
         WHERE z.LATITUDE BETWEEN ? AND ? AND z.LONGITUDE BETWEEN ? AND ? AND z.ZIPCODE <> ? \
         HAVING MILES <= ? ORDER BY MILES, z.ZIPCODE",
    )
    .bind(zipcode)
    .bind(bbox.min_latitude)
    .bind(bbox.max_latitude)
    .bind(bbox.min_longitude)
    .bind(bbox.max_longitude)
    .bind(zipcode)
    .bind(miles)
    .fetch_all(pool)
    .await
    .map_err(DbError::sql("searching the radius"))?;
    Ok(rows.into_iter().map(|(zipcode, miles)| Neighbor { zipcode, miles }).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The point `miles` away along `bearing` on MySQL's sphere (6,370,986 m).
    fn destination(lat: f64, lon: f64, miles: f64, bearing: f64) -> (f64, f64) {
        let delta = miles / MILES_PER_METER / 6_370_986.0;
        let (phi, lambda) = (lat.to_radians(), lon.to_radians());
        let phi2 = (phi.sin() * delta.cos() + phi.cos() * delta.sin() * bearing.cos()).asin();
        let lambda2 = lambda + (bearing.sin() * delta.sin() * phi.cos()).atan2(delta.cos() - phi.sin() * phi2.sin());
        let lon2 = (lambda2.to_degrees() + 540.0) % 360.0 - 180.0;
        (phi2.to_degrees(), lon2)
    }

    #[test]
    fn the_box_contains_the_circle() {
        for (lat, lon) in [(40.94, -74.29), (64.8, -147.7), (18.14, -66.26), (-14.3, -170.7), (71.29, -156.79)] {
            for miles in [0.5, 2.0, 25.0, 300.0] {
                let b = bounding_box(lat, lon, miles);
                for step in 0..3600 {
                    let (plat, plon) = destination(lat, lon, miles, f64::from(step).to_radians() / 10.0);
                    assert!(
                        (b.min_latitude..=b.max_latitude).contains(&plat)
                            && (b.min_longitude..=b.max_longitude).contains(&plon),
                        "({plat}, {plon}) is {miles} mi from ({lat}, {lon}) but outside {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn across_the_antimeridian_the_box_spans_every_longitude() {
        let b = bounding_box(52.0, 179.9, 50.0);
        assert_eq!((b.min_longitude, b.max_longitude), (-180.0, 180.0));
    }

    #[test]
    fn the_box_is_tight_enough_to_use_the_index() {
        let b = bounding_box(40.94, -74.29, 2.0);
        assert!(b.max_latitude - b.min_latitude < 0.1, "{b:?}");
        assert!(b.max_longitude - b.min_longitude < 0.15, "{b:?}");
    }
}
