#!/bin/sh
# One role per service, owning only its own database (run once by the postgres image on an empty volume,
# as /docker-entrypoint-initdb.d/init.sh). The role's password is POSTGRES_<SERVICE>_PASSWORD.
# No role may connect to another's database; none is a superuser or may create roles or databases.
# CORDON_ROLE_PREFIX (empty in production) prefixes every role and database name: the tests run this
# script against a shared server under a prefix of their own.
set -eu
prefix="${CORDON_ROLE_PREFIX:-}"
for service in registry testing events notify gateway; do
  var="POSTGRES_$(echo "$service" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  password="$(printenv "$var" || true)"
  if [ -z "$password" ]; then
    echo "init.sh: $var is not set" >&2
    exit 1
  fi
  name="${prefix}${service}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
       -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
  # PostgreSQL 15 gives the public schema to pg_database_owner: the service's role owns its tables there.
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$name" -v name="$name" <<'SQL'
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO :"name";
SQL
  echo "init.sh: role and database $name"
done
