-- The zip codes, with the original prototype's column names (DECOMISSIONED is spelled
-- as there) so that existing downstream queries keep working.
CREATE TABLE ZIPCODES (
    ZIPCODE       CHAR(5)      NOT NULL,
    ZIPCODE_TYPE  VARCHAR(16)  NOT NULL,
    CITY          VARCHAR(64)  NOT NULL,
    STATE         CHAR(2)      NOT NULL,
    LOCATION_TYPE VARCHAR(16)  NOT NULL,
    -- NULL when the source does not know the coordinates.
    LATITUDE      DECIMAL(5,2) NULL,
    LONGITUDE     DECIMAL(5,2) NULL,
    LOCATION      VARCHAR(64)  NOT NULL,
    DECOMISSIONED BOOLEAN      NOT NULL,
    -- Generated, so it can never drift from the coordinates. Built from the coordinates
    -- rounded to single precision because the prototype stored them as FLOAT: its
    -- published distances (07440 -> 07444 = 1.477185... miles) are only reproduced
    -- from those values (exact decimals give 1.477116...). NULL when either is NULL.
    COORDS        POINT AS (POINT(CAST(LONGITUDE AS FLOAT), CAST(LATITUDE AS FLOAT))) STORED,
    PRIMARY KEY (ZIPCODE),
    -- The radius search prefilters on a bounding box; this turns it into a range scan.
    KEY ZIPCODES_LAT_LONG (LATITUDE, LONGITUDE)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
