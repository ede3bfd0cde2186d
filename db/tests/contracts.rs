//! Every feed's table, as its contract declares it, against the table all the migrations
//! build on the real server (the migrations stay reviewed SQL; this says they agree).

use zipster_core::feeds::Catalog;
use zipster_db::contracts::table_drift;
use zipster_db::testing::TestDb;

#[tokio::test]
async fn the_migrations_build_every_feeds_table_as_its_contract_declares() {
    let Some((db, _)) = TestDb::migrated("contracts").await else { return };
    let catalog = Catalog::builtin().expect("the feeds");
    let mut drift = Vec::new();
    for feed in catalog.feeds() {
        drift.extend(table_drift(&db.pool, &feed.contract.table(&feed.name)).await.expect("information_schema"));
    }
    assert!(drift.is_empty(), "the tables differ from the contracts:\n  {}", drift.join("\n  "));
}

#[tokio::test]
async fn a_contract_that_disagrees_with_its_table_is_told_column_by_column() {
    let Some((db, _)) = TestDb::migrated("contracts_drift").await else { return };
    let zipcodes = &Catalog::builtin().expect("the feeds").get("zipcodes").expect("the zip feed").contract;
    let mut table = zipcodes.table("zipcodes");
    table.columns[1].sql_type = "VARCHAR(8)".to_owned();
    table.columns[5].nullable = false;
    table.columns.pop();
    table.primary_key = vec!["CITY".to_owned()];
    let drift = table_drift(&db.pool, &table).await.expect("information_schema");
    assert_eq!(
        drift,
        [
            "ZIPCODES.ZIPCODE_TYPE: the table has varchar(16), the contract declares VARCHAR(8)",
            "ZIPCODES.LATITUDE: the table has NULL, the contract declares NOT NULL",
            "ZIPCODES.DECOMISSIONED: a column no field of the contract holds",
            "ZIPCODES: the primary key is (ZIPCODE), the contract declares (CITY)",
        ]
    );
    table.name = "NO_SUCH_TABLE".to_owned();
    let missing = table_drift(&db.pool, &table).await.expect("information_schema");
    assert!(missing[0].starts_with("table NO_SUCH_TABLE does not exist"), "{missing:?}");
}

#[tokio::test]
async fn a_second_feed_loads_into_its_own_table_with_its_types_once() {
    let Some((db, _)) = TestDb::migrated("contracts_cities_load").await else { return };
    let cities = Catalog::builtin().expect("the feeds").get("cities").expect("the cities feed");
    let raw = std::fs::read(zipster_tools::project_root().join("testdata/cities/cities15000.csv")).expect("the data");
    let mut staged = Vec::new();
    let summary =
        zipster_core::transform(&cities.contract, &raw[..], &mut staged, std::io::sink(), &Default::default())
            .expect("transformed");
    let target = zipster_db::load::Target::of(cities);
    let object = staged_object("cities/cities15000.csv", "e1");
    let counts = loaded(load(&db, &target, &object, &staged).await);
    assert_eq!((counts.rows, counts.inserted), (summary.accepted, summary.accepted));
    let (name, population, admin): (String, u64, Option<String>) =
        sqlx::query_as("SELECT NAME, POPULATION, ADMIN1CODE FROM CITIES WHERE GEONAMEID = 1819729")
            .fetch_one(&db.pool)
            .await
            .expect("Hong Kong");
    assert_eq!((name.as_str(), population, admin), ("Hong Kong", 7_396_076, None), "an absent value is NULL");
    let (name, others): (String, String) =
        sqlx::query_as("SELECT NAME, ALTERNATENAMES FROM CITIES WHERE GEONAMEID = 362")
            .fetch_one(&db.pool)
            .await
            .expect("Shahrak-e Qods");
    assert_eq!(name, "Shahrak-e Qods");
    assert!(others.ends_with("شهرک غرب;شهرک قدس"), "text in any script round-trips: {others}");
    let lavasan: String =
        sqlx::query_scalar("SELECT NAME FROM CITIES WHERE GEONAMEID = 490").fetch_one(&db.pool).await.expect("490");
    assert_eq!(lavasan, "Lavāsān");
    assert_eq!(load(&db, &target, &object, &staged).await, zipster_db::load::LoadOutcome::AlreadyLoaded);
}

fn staged_object(key: &str, etag: &str) -> zipster_db::load::ObjectVersion {
    zipster_db::load::ObjectVersion {
        bucket: "staging".into(),
        key: key.into(),
        etag: etag.into(),
        version_id: None,
        sequencer: None,
    }
}

async fn load(
    db: &TestDb,
    target: &zipster_db::load::Target,
    object: &zipster_db::load::ObjectVersion,
    staged: &[u8],
) -> zipster_db::load::LoadOutcome {
    zipster_db::load::load_table(&db.pool, target, object, Default::default(), std::io::Cursor::new(staged))
        .await
        .expect("loaded")
}

fn loaded(outcome: zipster_db::load::LoadOutcome) -> zipster_db::load::LoadCounts {
    match outcome {
        zipster_db::load::LoadOutcome::Loaded(counts) => counts,
        other => panic!("{other}"),
    }
}

/// The weather feed: a zoned `datetime` in the key reaches its `DATETIME(6)` column as
/// the UTC instant (MariaDB refuses a literal with a zone), a `year` its `YEAR`, `NA` NULL.
#[tokio::test]
async fn datetimes_with_any_zone_load_as_their_utc_instant() {
    let Some((db, _)) = TestDb::migrated("contracts_weather_load").await else { return };
    let weather = Catalog::builtin().expect("the feeds").get("weather").expect("the weather feed");
    let root = zipster_tools::project_root().join("testdata/weather");
    let target = zipster_db::load::Target::of(weather);
    let mut inserted = 0;
    for (etag, file) in
        [("e1", root.join("weather.csv")), ("e2", root.join("cases/good_zones_and_fractions/input.csv"))]
    {
        let raw = std::fs::read(&file).expect("the data");
        let mut staged = Vec::new();
        let summary =
            zipster_core::transform(&weather.contract, &raw[..], &mut staged, std::io::sink(), &Default::default())
                .expect("transformed");
        let object = staged_object(&format!("weather/{etag}.csv"), etag);
        let counts = loaded(load(&db, &target, &object, &staged).await);
        assert_eq!(counts.rows, summary.accepted);
        inserted += counts.inserted;
    }
    let hours = |origin: &'static str, from: &'static str, to: &'static str| {
        sqlx::query_as::<_, (String, Option<f64>, Option<f64>, u16)>(
            "SELECT CAST(TIME_HOUR AS CHAR), WIND_GUST, PRESSURE, YEAR FROM WEATHER \
             WHERE ORIGIN = ? AND TIME_HOUR BETWEEN ? AND ? ORDER BY TIME_HOUR",
        )
        .bind(origin)
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
    };
    let first = hours("EWR", "2013-01-01 06:00:00", "2013-01-01 06:00:00").await.expect("the first hour");
    assert_eq!(first, [("2013-01-01 06:00:00.000000".to_owned(), None, Some(1012.0), 2013)], "NA is NULL");
    // The second file's zoned hours: -05:00 and +05:30 are the instants the first file had
    // (updated in place, not added), fractions kept to the microsecond, 24:00 the next day.
    let times = |rows: Vec<(String, Option<f64>, Option<f64>, u16)>| rows.into_iter().map(|h| h.0).collect::<Vec<_>>();
    let zoned = times(hours("EWR", "2013-01-01 06:00:00", "2013-01-01 09:00:01").await.expect("zoned hours"));
    assert!(zoned.contains(&"2013-01-01 07:00:00.000000".to_owned()), "12:30+05:30 is 07:00 UTC: {zoned:?}");
    assert!(zoned.contains(&"2013-01-01 08:00:00.250000".to_owned()), "{zoned:?}");
    assert!(zoned.contains(&"2013-01-01 09:00:00.123456".to_owned()), "seven digits cut to six: {zoned:?}");
    let new_year = times(hours("EWR", "2014-01-01 00:00:00", "2014-01-01 03:00:00").await.expect("the next year"));
    assert_eq!(
        new_year,
        ["2014-01-01 00:00:00.000000", "2014-01-01 01:00:00.000000", "2014-01-01 02:30:00.000000"],
        "24:00 is the next day's midnight; 21:30-05:00 is 02:30 the next day"
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM WEATHER").fetch_one(&db.pool).await.expect("count");
    assert_eq!(rows as u64, inserted, "every inserted row is there");
    assert_eq!(
        inserted,
        26_114 + 5,
        "three of the second file's hours were the first file's, now updated (a time without a zone is taken as UTC)"
    );
}

/// `feed migration`'s way: the table the migrations build, a contract that adds an
/// optional field and widens a column, the migration the plan writes (to a file, as the
/// command does) applied after the others: the table is then the contract's.
#[tokio::test]
async fn the_migration_written_for_an_added_field_and_a_wider_column_makes_the_table_the_contracts() {
    use zipster_contract::migration::plan;
    let Some((db, _)) = TestDb::migrated("contracts_migration").await else { return };
    let descriptor =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/cities/schema.json"))
            .expect("the cities contract");
    let widened = descriptor.replacen(r#""maxLength": 200}"#, r#""maxLength": 300}"#, 1).replacen(
        r#"{"name": "alternatenames""#,
        r#"{"name": "elevation", "type": "integer", "constraints": {"minimum": -500, "maximum": 9000}}, {"name": "alternatenames""#,
        1,
    );
    assert_ne!(widened, descriptor);
    let table = zipster_contract::Contract::from_json(&widened).expect("the changed contract").table("cities");
    let before = zipster_db::contracts::read_table(&db.pool, "CITIES").await.expect("read").expect("CITIES exists");
    let plan = plan(Some(&before), &table);
    let migration = plan.migration(false).expect("nothing lossy").expect("something to do");
    assert_eq!(
        migration.statements,
        [
            "ALTER TABLE CITIES\n    ADD COLUMN ELEVATION SMALLINT NULL AFTER ADMIN1CODE,\n    MODIFY COLUMN NAME VARCHAR(300) NOT NULL;\n"
        ]
    );
    let dir = std::env::temp_dir().join(format!("zipster-migration-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join(migration.file_name("20991231000000", "cities"));
    std::fs::write(&path, migration.sql("cities")).expect("written");
    let sql = std::fs::read_to_string(&path).expect("read back");
    std::fs::remove_dir_all(&dir).expect("removed");
    assert!(sql.contains("--   CITIES: no column ELEVATION for field elevation\n"), "{sql}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&db.pool).await.expect("the migration applies");
    let drift = table_drift(&db.pool, &table).await.expect("information_schema");
    assert!(drift.is_empty(), "after the migration: {drift:?}");
    let ninth: String = sqlx::query_scalar(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'CITIES' AND ORDINAL_POSITION = 9",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the ninth column");
    assert_eq!(ninth, "ELEVATION", "the new column sits after its field's neighbour");
}

/// `feed check`'s way: the tables of a scratch database the migrations built, which is
/// gone afterwards.
#[tokio::test]
async fn the_tables_the_migrations_build_are_read_from_a_scratch_database_dropped_afterwards() {
    let server = zipster_db::connect::parse_url(&zipster_tools::database::server_url()).expect("the server URL");
    let tables = zipster_db::contracts::migrated_tables(&server, &["CITIES", "NO_SUCH_TABLE"]).await;
    let tables = match tables {
        Ok(tables) => tables,
        Err(e) if std::env::var("ZIPSTER_ALLOW_NO_DB").as_deref() == Ok("1") => {
            eprintln!("\n!!!!! SKIPPED: no database ({e}) !!!!!\n");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let cities = tables[0].as_ref().expect("CITIES");
    assert_eq!(cities.primary_key, ["GEONAMEID"]);
    assert!(cities.load_rights.contains(&"DELETE".to_owned()), "{:?}", cities.load_rights);
    assert!(tables[1].is_none());
}
