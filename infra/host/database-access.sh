#!/usr/bin/env bash
# zipster-database-access: the database and its two users, least privilege.
#
# Runs at every boot of the database host, as root, from the user data, once
# MariaDB is up (and in the tests, against a MariaDB they start):
#
#     MIGRATE_USER=… MIGRATE_PASSWORD=… LOAD_USER=… LOAD_PASSWORD=… \
#         zipster-database-access DATABASE CLIENT_HOST [mysql client option...]
#
# - the migrate user: DDL and DML on DATABASE, with the grant option, so that the
#   migrations can give the load role its tables;
# - the role zipster_loader: no rights of its own here; each migration that creates
#   a table the load writes grants it exactly the DML the load runs on that table;
# - the load user: only that role (its default role), so a compromised load cannot
#   CREATE, ALTER or DROP anything;
# - both only from CLIENT_HOST (the functions' subnets, e.g. 10.40.0.0/255.255.254.0)
#   and only over TLS (REQUIRE SSL, besides the server's require_secure_transport);
# - the shared user of earlier versions ('zipster'@'%', ALL on the schema) removed.
#
# Idempotent: a second run changes only passwords that changed. The passwords go to
# mysql on its stdin, never on a command line. Exit codes: 0 done; 2 usage or a
# value that is not safe to put in SQL; other non-zero: mysql failed.

set -euo pipefail

fail() {
    echo "zipster-database-access: $*" >&2
    exit 2
}

if [[ $# -lt 2 ]]; then
    fail "usage: zipster-database-access DATABASE CLIENT_HOST [mysql client option...]"
fi
readonly database=$1 client_host=$2
shift 2

[[ $database =~ ^[A-Za-z0-9_]{1,64}$ ]] || fail "database name must be letters, digits and _: $database"
[[ $client_host =~ ^[0-9.%/]{1,60}$ ]] || fail "client host must be an address pattern (10.40.0.0/255.255.254.0): $client_host"
for variable in MIGRATE_USER LOAD_USER; do
    [[ ${!variable:-} =~ ^[a-z][a-z0-9_]{0,31}$ ]] || fail "$variable must be a lower-case name of at most 32 characters"
done
for variable in MIGRATE_PASSWORD LOAD_PASSWORD; do
    # Secrets Manager generates them without punctuation: nothing to quote.
    [[ ${!variable:-} =~ ^[A-Za-z0-9]{20,}$ ]] || fail "$variable must be at least 20 letters and digits"
done
readonly migrate_user=${MIGRATE_USER:-} load_user=${LOAD_USER:-}
readonly migrate_password=${MIGRATE_PASSWORD:-} load_password=${LOAD_PASSWORD:-}
[[ $migrate_user != "$load_user" ]] || fail "MIGRATE_USER and LOAD_USER must differ"

readonly role=zipster_loader
migrate="'$migrate_user'@'$client_host'"
load="'$load_user'@'$client_host'"

mysql --batch "$@" <<SQL
CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4;
CREATE ROLE IF NOT EXISTS $role;

CREATE USER IF NOT EXISTS $migrate IDENTIFIED BY '$migrate_password';
ALTER USER $migrate IDENTIFIED BY '$migrate_password' REQUIRE SSL;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE TEMPORARY TABLES
    ON \`$database\`.* TO $migrate WITH GRANT OPTION;

CREATE USER IF NOT EXISTS $load IDENTIFIED BY '$load_password';
ALTER USER $load IDENTIFIED BY '$load_password' REQUIRE SSL;
GRANT $role TO $load;
SET DEFAULT ROLE $role FOR $load;

DROP USER IF EXISTS 'zipster'@'%';
DROP USER IF EXISTS ''@'localhost';
FLUSH PRIVILEGES;
SQL
echo "zipster-database-access: $database: $migrate_user and $load_user from $client_host, TLS only" >&2
