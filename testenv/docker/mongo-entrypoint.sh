#!/bin/bash
# Stand-in for the official mongo image's entrypoint (see mongo.Dockerfile): PostgreSQL in /data/db/pg with the root
# user as its superuser (password MONGO_INITDB_ROOT_PASSWORD), then FerretDB on :27017 in front of database `ferretdb`.
set -euo pipefail
pg=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=/data/db/pg
user=${MONGO_INITDB_ROOT_USERNAME:-}
if [ ! -s "$data/PG_VERSION" ]; then
  [ -n "$user" ] && [ -n "${MONGO_INITDB_ROOT_PASSWORD:-}" ] || { echo "MONGO_INITDB_ROOT_USERNAME/PASSWORD are required" >&2; exit 1; }
  mkdir -p "$data" && chown postgres "$data"
  printf '%s' "$MONGO_INITDB_ROOT_PASSWORD" > /tmp/pw && chown postgres /tmp/pw
  runuser -u postgres -- "$pg/initdb" -D "$data" -U "$user" --pwfile=/tmp/pw -E UTF8 --locale=C.UTF-8 --auth-host=scram-sha-256 --auth-local=trust >/dev/null
  rm -f /tmp/pw
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$data/pg_hba.conf"
  runuser -u postgres -- "$pg/postgres" -D "$data" -c listen_addresses= -k /tmp &
  until [ -S /tmp/.s.PGSQL.5432 ]; do sleep 0.2; done
  runuser -u postgres -- psql -h /tmp -U "$user" -d postgres -qc 'CREATE DATABASE ferretdb'
  runuser -u postgres -- "$pg/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
runuser -u postgres -- "$pg/postgres" -D "$data" -c listen_addresses='*' -k /tmp -c max_connections=200 &
pgpid=$!
until [ -S /tmp/.s.PGSQL.5432 ]; do sleep 0.2; done
wacloud-ferretdb -listen 0.0.0.0:27017 -postgresql-url postgres://127.0.0.1:5432/ferretdb &
fpid=$!
trap 'kill -TERM $fpid $pgpid 2>/dev/null' TERM INT
wait -n $fpid $pgpid || :
kill -TERM $fpid $pgpid 2>/dev/null || :
wait
