-- The cities feed's table, as feeds/cities/schema.json declares it (written by
-- `cargo xtask feed migration cities`; db/tests/contracts.rs checks they agree).
CREATE TABLE CITIES (
    GEONAMEID BIGINT UNSIGNED NOT NULL,
    NAME VARCHAR(200) NOT NULL,
    LATITUDE DOUBLE NOT NULL,
    LONGITUDE DOUBLE NOT NULL,
    COUNTRYCODE VARCHAR(2) NOT NULL,
    POPULATION BIGINT UNSIGNED NOT NULL,
    TIMEZONE VARCHAR(40) NOT NULL,
    ADMIN1CODE VARCHAR(20) NULL,
    ALTERNATENAMES TEXT NULL,
    PRIMARY KEY (GEONAMEID)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The load's rights on it, as on every feed's table.
GRANT SELECT, INSERT, UPDATE ON CITIES TO zipster_loader;
