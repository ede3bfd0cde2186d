-- One row per successful load of an S3 object version: what makes a load idempotent
-- (same key and ETag again: nothing to do) and ordered (an older S3 sequencer than
-- one already loaded for the key: superseded). Written in the load's transaction.
CREATE TABLE LOADED_OBJECTS (
    ID            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    BUCKET        VARCHAR(63)   NOT NULL,
    OBJECT_KEY    VARCHAR(1024) NOT NULL,
    -- S3 keys (up to 1024 bytes) are too long for an index; bucket names never
    -- contain '/', so this hash identifies the object unambiguously.
    OBJECT_ID     BINARY(32) AS (UNHEX(SHA2(CONCAT(BUCKET, '/', OBJECT_KEY), 256))) STORED,
    ETAG          VARCHAR(128)  NOT NULL,
    VERSION_ID    VARCHAR(1024) NULL,
    SEQUENCER     VARCHAR(64)   NULL,
    ROWS_READ     INT UNSIGNED  NOT NULL,
    ROWS_INSERTED INT UNSIGNED  NOT NULL,
    ROWS_UPDATED  INT UNSIGNED  NOT NULL,
    LOADED_AT     TIMESTAMP(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (ID),
    KEY LOADED_OBJECTS_OBJECT (OBJECT_ID, ID)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
