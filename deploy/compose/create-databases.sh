#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# one database per service, each owned by a login role of that service alone
# (DESIGN.md: database per service). A service's credentials open its own database and no
# other: CONNECT is revoked from PUBLIC, so the reviews role cannot even connect to pledges.
# The superuser ($POSTGRES_USER) is for the operator, never given to a service.
#
# Passwords come from POSTGRES_<SERVICE>_PASSWORD (compose passes them); psql's :'var'
# quoting keeps any character in them literal.
set -eu

for service in pledges reviews scoring; do
    upper=$(echo "$service" | tr '[:lower:]' '[:upper:]')
    password=$(printenv "POSTGRES_${upper}_PASSWORD" || true)
    if [ -z "$password" ]; then
        echo "create-databases.sh: POSTGRES_${upper}_PASSWORD is not set" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v role="suxing_$service" -v password="$password" -v database="$service" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
done
