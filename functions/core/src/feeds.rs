//! The feeds: each a contract (`feeds/<name>/schema.json`, compiled in by `build.rs`),
//! checked once, and the routing of an input key to its feed.

use std::fmt::Write as _;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use zipster_contract::{Contract, DescriptorError};

include!(concat!(env!("OUT_DIR"), "/builtin_feeds.rs"));

/// One feed: its name (its folder), its contract, the contract's hash (SHA-256 of the
/// descriptor's bytes, which reports and loads record) and the input keys it owns.
#[derive(Debug)]
pub struct Feed {
    pub name: String,
    pub contract: Contract,
    pub hash: String,
    pub key_prefix: String,
}

impl Feed {
    /// The first 12 hex digits of the hash, for people (as git shortens commits).
    pub fn short_hash(&self) -> &str {
        &self.hash[..12]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("feed \"{feed}\": feeds/{feed}/schema.json: {error}")]
    Descriptor { feed: String, error: DescriptorError },
    #[error("feed name \"{0}\": use lower-case letters, digits, - and _ (it names a folder, a key prefix and a table)")]
    Name(String),
    #[error(
        "feeds \"{first}\" ({first_prefix}) and \"{second}\" ({second_prefix}) claim overlapping key prefixes: a key would belong to both; give one a distinct zipster:keyPrefix"
    )]
    Overlap { first: String, first_prefix: String, second: String, second_prefix: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error(
        "no feed claims key \"{key}\" and the stage has no default feed: upload it under a feed's prefix ({})",
        listing(.feeds)
    )]
    NoFeed { key: String, feeds: Vec<(String, String)> },
    #[error("the stage's default feed \"{0}\" is not a feed of this build (feeds/<name>/schema.json)")]
    UnknownDefault(String),
}

fn listing(feeds: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (name, prefix)) in feeds.iter().enumerate() {
        let _ = write!(out, "{}{prefix}… → {name}", if i == 0 { "" } else { ", " });
    }
    out
}

/// Why a feed of this build could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Catalog(&'static CatalogError),
    #[error("\"{0}\" is not a feed of this build (feeds/<name>/schema.json)")]
    Unknown(String),
    #[error(transparent)]
    Route(#[from] RouteError),
}

/// A feed compiled into this build, by name.
pub fn builtin(name: &str) -> Result<&'static Feed, LookupError> {
    Catalog::builtin().map_err(LookupError::Catalog)?.get(name).ok_or_else(|| LookupError::Unknown(name.to_owned()))
}

/// The feed of an input (or staged) key in this build: the one rule the transform and
/// the load both find a file's feed by, so that they never disagree.
pub fn route_builtin(key: &str, default: Option<&str>) -> Result<&'static Feed, LookupError> {
    Ok(Catalog::builtin().map_err(LookupError::Catalog)?.route(key, default)?)
}

/// The feed every stage defaults to today, and that the seed data is.
pub const ZIPCODES: &str = "zipcodes";

/// A contract's identity: the SHA-256 of its descriptor's bytes, in hex.
pub fn contract_hash(descriptor: &str) -> String {
    Sha256::digest(descriptor.as_bytes()).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Every feed, checked together (names, descriptors, prefixes).
#[derive(Debug)]
pub struct Catalog {
    feeds: Vec<Feed>,
}

impl Catalog {
    /// The feeds compiled into this build, parsed and checked on first use.
    pub fn builtin() -> Result<&'static Catalog, &'static CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::from_sources(BUILTIN.iter().copied())).as_ref()
    }

    /// Feeds from (name, descriptor text) pairs: `feed check` reads `feeds/` from disk.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Catalog, CatalogError> {
        let mut feeds: Vec<Feed> = Vec::new();
        for (name, text) in sources {
            if name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b))
            {
                return Err(CatalogError::Name(name.to_owned()));
            }
            let contract =
                Contract::from_json(text).map_err(|error| CatalogError::Descriptor { feed: name.to_owned(), error })?;
            let key_prefix = contract.key_prefix().map_or_else(|| format!("{name}/"), str::to_owned);
            if let Some(other) =
                feeds.iter().find(|f| f.key_prefix.starts_with(&key_prefix) || key_prefix.starts_with(&f.key_prefix))
            {
                return Err(CatalogError::Overlap {
                    first: other.name.clone(),
                    first_prefix: other.key_prefix.clone(),
                    second: name.to_owned(),
                    second_prefix: key_prefix,
                });
            }
            let hash = contract_hash(text);
            feeds.push(Feed { name: name.to_owned(), contract, hash, key_prefix });
        }
        Ok(Catalog { feeds })
    }

    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    pub fn get(&self, name: &str) -> Option<&Feed> {
        self.feeds.iter().find(|f| f.name == name)
    }

    /// The feed an input key belongs to: the one whose prefix it starts with, else the
    /// stage's default feed (keys under date folders, or at the top, as uploaded today).
    pub fn route(&self, key: &str, default: Option<&str>) -> Result<&Feed, RouteError> {
        if let Some(feed) = self.feeds.iter().find(|f| key.starts_with(&f.key_prefix)) {
            return Ok(feed);
        }
        match default {
            Some(name) => self.get(name).ok_or_else(|| RouteError::UnknownDefault(name.to_owned())),
            None => Err(RouteError::NoFeed {
                key: key.to_owned(),
                feeds: self.feeds.iter().map(|f| (f.name.clone(), f.key_prefix.clone())).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = r#"{"fields": [{"name": "a"}]}"#;

    #[test]
    fn the_builtin_feeds_load_and_include_the_zip_codes() {
        let catalog = Catalog::builtin().expect("feeds/ loads");
        let zip = catalog.get("zipcodes").expect("the zip code feed");
        assert_eq!(zip.key_prefix, "zipcodes/");
        assert_eq!(zip.hash.len(), 64);
        assert_eq!(zip.contract.fields().len(), 9);
        let upsert = zip.contract.table(&zip.name);
        assert_eq!((upsert.name.as_str(), upsert.strategy), ("ZIPCODES", zipster_contract::LoadStrategy::Upsert));
        // GeoNames' cities15000 is the whole set each time: a city gone from it is gone.
        let cities = catalog.get("cities").expect("the cities feed").contract.table("cities");
        assert_eq!((cities.strategy, cities.max_deleted_share), (zipster_contract::LoadStrategy::Replace, 0.10));
    }

    #[test]
    fn keys_route_by_prefix_then_to_the_default() {
        let catalog = Catalog::from_sources([("zipcodes", PLAIN), ("events", PLAIN)]).expect("two feeds");
        assert_eq!(catalog.route("events/2026/12/01.csv", None).map(|f| f.name.as_str()), Ok("events"));
        assert_eq!(catalog.route("zipcodes/a b.csv", Some("events")).map(|f| f.name.as_str()), Ok("zipcodes"));
        assert_eq!(catalog.route("2026/12/01/x.csv", Some("zipcodes")).map(|f| f.name.as_str()), Ok("zipcodes"));
        let refused = catalog.route("2026/x.csv", None).expect_err("no default");
        assert_eq!(
            refused.to_string(),
            "no feed claims key \"2026/x.csv\" and the stage has no default feed: upload it under a feed's prefix (zipcodes/… → zipcodes, events/… → events)"
        );
        assert_eq!(catalog.route("x.csv", Some("nope")).err(), Some(RouteError::UnknownDefault("nope".into())));
    }

    #[test]
    fn overlapping_prefixes_bad_names_and_bad_descriptors_are_refused() {
        let prefixed = r#"{"zipster:keyPrefix": "zip", "fields": [{"name": "a"}]}"#;
        let overlap = Catalog::from_sources([("zipcodes", PLAIN), ("other", prefixed)]).expect_err("overlap");
        assert!(matches!(overlap, CatalogError::Overlap { .. }), "{overlap}");
        assert!(matches!(Catalog::from_sources([("Zip Codes", PLAIN)]), Err(CatalogError::Name(_))));
        let bad = Catalog::from_sources([("x", r#"{"fields": []}"#)]).expect_err("no fields");
        assert_eq!(bad.to_string(), "feed \"x\": feeds/x/schema.json: fields: must declare at least one field");
    }
}
