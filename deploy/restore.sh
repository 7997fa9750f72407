#!/bin/sh
# Restore every service's database from a backup made by deploy/backup.sh, into fresh databases.
#
#   deploy/restore.sh DIR
#
# Each database is created (owned by the service's role when CORDON_DB_OWNER_PREFIX names roles as
# init.sh made them: "" for production's registry, testing, ...) and must not exist yet, or must be empty:
# restore never writes over live data. Stop the services first; start them again afterwards (their relays
# publish what the outboxes still hold, with the same event ids: JetStream drops the ones it already has).
# Connection and names as for backup.sh (libpq environment, CORDON_DATABASES, CORDON_DB_PREFIX).
set -eu
dir="${1:?usage: deploy/restore.sh DIR (a directory made by deploy/backup.sh)}"
databases="${CORDON_DATABASES:-registry testing events notify gateway}"
prefix="${CORDON_DB_PREFIX:-}"
[ -f "$dir/MANIFEST" ] || { echo "restore.sh: $dir/MANIFEST missing: not a backup.sh directory" >&2; exit 1; }
for service in $databases; do
  line="$(grep "^$service " "$dir/MANIFEST")" || { echo "restore.sh: $service is not in $dir/MANIFEST" >&2; exit 1; }
  expected="$(echo "$line" | cut -d' ' -f4)"
  actual="$(sha256sum "$dir/$service.dump" | cut -d' ' -f1)"
  [ "$expected" = "$actual" ] || { echo "restore.sh: $dir/$service.dump does not match its checksum" >&2; exit 1; }
done
for service in $databases; do
  db="${prefix}${service}"
  exists="$(psql -X -A -t -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")"
  if [ "$exists" = "1" ]; then
    tables="$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
    [ "$tables" = "0" ] || { echo "restore.sh: $db already has tables: restore only into fresh databases" >&2; exit 1; }
  else
    createdb "$db"
  fi
  owner=""
  if [ "${CORDON_DB_OWNER_PREFIX+set}" = set ]; then
    owner="${CORDON_DB_OWNER_PREFIX}${service}"
    psql -X -q -d postgres -c "ALTER DATABASE \"$db\" OWNER TO \"$owner\""
  fi
  pg_restore --exit-on-error --no-owner ${owner:+--role="$owner"} --dbname="$db" "$dir/$service.dump"
  echo "restore.sh: $dir/$service.dump -> $db${owner:+ (owner $owner)}"
done
echo "restore.sh: done"
