#!/bin/sh
# Back up every service's database: one `pg_dump -Fc` (custom format: compressed, restored table by table,
# readable by pg_restore --list) per service into DIR (default backups/<UTC time>), with a MANIFEST.
#
#   deploy/backup.sh [DIR]
#
# Connection: libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD; a superuser, or each service's role
# in turn). Names: CORDON_DATABASES (default "registry testing events notify gateway"), each prefixed with
# CORDON_DB_PREFIX. With compose, run it inside the postgres container (README, "Back up"):
#   docker compose exec -T postgres sh -s < deploy/backup.sh ...   or with PGHOST=127.0.0.1 and a published port.
#
# The JetStream store (volume nats-data) is not backed up: it holds only events already in the outboxes
# (unsent rows are in these dumps and are published again after a restore) or already handled. Restore
# every database from the same backup together, so that each service's inbox and outbox agree.
set -eu
databases="${CORDON_DATABASES:-registry testing events notify gateway}"
prefix="${CORDON_DB_PREFIX:-}"
dir="${1:-backups/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$dir"
chmod 700 "$dir"  # personal data, encrypted at rest but still personal
dump_major="$(pg_dump --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
server="$(psql -X -A -t -d "${prefix}$(echo "$databases" | cut -d' ' -f1)" -c 'SHOW server_version')"
server_major="${server%%.*}"
if [ "$dump_major" -lt "$server_major" ]; then
  echo "backup.sh: pg_dump $dump_major is older than the server ($server): install pg_dump $server_major or newer" >&2
  exit 1
fi
{
  echo "cordon backup $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "server PostgreSQL $server; $(pg_dump --version)"
  echo "jetstream: not included (events still to publish are in each outbox, in these dumps)"
} > "$dir/MANIFEST"
for service in $databases; do
  db="${prefix}${service}"
  pg_dump --format=custom --no-owner --file="$dir/$service.dump" --dbname="$db"
  size="$(wc -c < "$dir/$service.dump" | tr -d ' ')"
  sum="$(sha256sum "$dir/$service.dump" | cut -d' ' -f1)"
  echo "$service $db $size $sum" >> "$dir/MANIFEST"
  echo "backup.sh: $service ($db) -> $dir/$service.dump, $size bytes"
done
echo "backup.sh: done: $dir"
