# Test stand-in for `mongo:<n>`: the MongoDB wire protocol of FerretDB v1 (the `wacloud-ferretdb` that `make tools`
# builds) on Debian's PostgreSQL, which enforces authentication and per-database grants. Like the official image it
# creates its root user from MONGO_INITDB_ROOT_USERNAME / MONGO_INITDB_ROOT_PASSWORD on a fresh /data/db, listens on
# :27017, and has a `mongosh` that answers `db.adminCommand('ping').ok` (a port check, not the real shell).
# Differences a client sees: only PLAIN authentication (authSource=$external), users are PostgreSQL roles (FerretDB
# v1's createUser authorises nothing), and PostgreSQL itself listens on :5432. Built by testenv's ensureComposeStandIns().
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql && rm -rf /var/lib/apt/lists/*
COPY wacloud-ferretdb /usr/local/bin/wacloud-ferretdb
COPY mongo-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY mongosh /usr/local/bin/mongosh
VOLUME /data/db
EXPOSE 27017
LABEL io.wacloud.stand-in="mongo"
ENTRYPOINT ["docker-entrypoint.sh"]
