-- The load function connects as a user whose only rights are the role
-- zipster_loader's (infra/host/database-access.sh creates both; locally and in the
-- tests zipster_db::connect::create_database_if_missing creates the role): exactly
-- the DML the load runs, table by table. It can never CREATE, ALTER or DROP.
GRANT SELECT, INSERT, UPDATE ON ZIPCODES TO zipster_loader;
GRANT SELECT, INSERT ON LOADED_OBJECTS TO zipster_loader;
