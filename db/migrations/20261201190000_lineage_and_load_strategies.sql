-- Lineage and load strategies. Each load's record names the feed and the hash of the
-- contract that transformed and loaded the file (the same file under a new contract may
-- load again; under the same one it never does), how it changed the table and whether a
-- replace was allowed to shrink it past the contract's limit. NULL for loads recorded
-- before this migration.
ALTER TABLE LOADED_OBJECTS
    ADD COLUMN FEED            VARCHAR(64)  NULL AFTER SEQUENCER,
    ADD COLUMN CONTRACT_SHA256 CHAR(64)     NULL AFTER FEED,
    ADD COLUMN STRATEGY        VARCHAR(8)   NULL AFTER CONTRACT_SHA256,
    ADD COLUMN ROWS_DELETED    INT UNSIGNED NOT NULL DEFAULT 0 AFTER ROWS_UPDATED,
    ADD COLUMN SHRINK_ALLOWED  BOOLEAN      NOT NULL DEFAULT FALSE AFTER ROWS_DELETED;

-- Every feed's row records the load that last wrote it (zipster_contract::Table::lineage);
-- rows written before this migration have none.
ALTER TABLE ZIPCODES
    ADD COLUMN _LOAD_ID BIGINT UNSIGNED NULL,
    ADD FOREIGN KEY (_LOAD_ID) REFERENCES LOADED_OBJECTS (ID);
ALTER TABLE CITIES
    ADD COLUMN _LOAD_ID BIGINT UNSIGNED NULL,
    ADD FOREIGN KEY (_LOAD_ID) REFERENCES LOADED_OBJECTS (ID);

-- The load now records its object first (its ID is the rows' lineage) and its counts
-- last; a replace (the cities feed) deletes the rows its file no longer has, finding them
-- through a temporary table of the file's keys, private to its session.
GRANT UPDATE ON LOADED_OBJECTS TO zipster_loader;
GRANT DELETE ON CITIES TO zipster_loader;
GRANT CREATE TEMPORARY TABLES ON * TO zipster_loader;
