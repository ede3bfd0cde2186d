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
