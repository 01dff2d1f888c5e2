# Test stand-in for `docker:<n>-dind` (and `docker:<n>-cli`): Debian bookworm's docker.io (dockerd 20.10, containerd,
# runc, the docker CLI) with an entrypoint that does what the official dind image's does — TLS certificates generated
# into $DOCKER_TLS_CERTDIR (ca/, server/, client/), dockerd on tcp://0.0.0.0:2376 with --tlsverify, cgroup v2 nesting.
# Run privileged, as the official image is. Only the behaviour is mirrored, not the versions. Built by testenv's
# ensureComposeStandIns().
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends docker.io iptables openssl ca-certificates iproute2 procps \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /certs /certs/client && chmod 1777 /certs /certs/client
COPY dind-entrypoint.sh /usr/local/bin/dockerd-entrypoint.sh
ENV DOCKER_TLS_CERTDIR=/certs
VOLUME /var/lib/docker
EXPOSE 2375 2376
LABEL io.wacloud.stand-in="docker-dind"
ENTRYPOINT ["dockerd-entrypoint.sh"]
CMD []
