# Test stand-in for `gcr.io/distroless/nodejs24-debian12:nonroot`: no shell, no package manager — only the node
# binary at /nodejs/bin/node with the shared libraries it links, CA certificates, /tmp, and the `nonroot` user
# (uid/gid 65532); ENTRYPOINT node, like the real image. Built by testenv's ensureBaseImages().
ARG NODE_IMAGE
FROM ${NODE_IMAGE} AS src
RUN set -eu; mkdir -p /out/nodejs/bin /out/etc/ssl/certs /out/tmp /out/home/nonroot /out/usr/local/share/ca-certificates; \
    cp /usr/local/bin/node /out/nodejs/bin/node; \
    for lib in $(ldd /usr/local/bin/node | awk '/=>/ {print $3} /^\t\/lib64/ {print $1}'); do \
      mkdir -p "/out$(dirname "$lib")"; cp -L "$lib" "/out$lib"; done; \
    cp -a /usr/local/share/ca-certificates/. /out/usr/local/share/ca-certificates/; \
    cat /usr/local/share/ca-certificates/*.crt > /out/etc/ssl/certs/ca-certificates.crt 2>/dev/null || true; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group; \
    chmod 1777 /out/tmp; chown 65532:65532 /out/home/nonroot
FROM scratch
COPY --from=src /out/ /
ENV PATH=/nodejs/bin
USER 65532:65532
WORKDIR /home/nonroot
LABEL io.wacloud.stand-in="distroless-nodejs"
ENTRYPOINT ["/nodejs/bin/node"]
