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
    let object = zipster_db::load::ObjectVersion {
        bucket: "staging".into(),
        key: "cities/cities15000.csv".into(),
        etag: "e1".into(),
        version_id: None,
        sequencer: None,
    };
    let outcome =
        zipster_db::load::load_table(&db.pool, &target, &object, Default::default(), std::io::Cursor::new(&staged))
            .await
            .expect("loaded");
    let zipster_db::load::LoadOutcome::Loaded(counts) = outcome else { panic!("{outcome}") };
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
    let again =
        zipster_db::load::load_table(&db.pool, &target, &object, Default::default(), std::io::Cursor::new(&staged))
            .await
            .expect("again");
    assert_eq!(again, zipster_db::load::LoadOutcome::AlreadyLoaded);
}
