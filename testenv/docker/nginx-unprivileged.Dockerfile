# Test stand-in for `nginxinc/nginx-unprivileged:<1.28>-bookworm`: Debian bookworm's nginx configured the way the
# unprivileged image is — user nginx (uid/gid 101), listens on 8080, pid and temp files in /tmp (the root file system
# may be read-only), logs to stdout/stderr, site config in /etc/nginx/conf.d/default.conf. The nginx inside is
# Debian's 1.22, not 1.28: only the layout is mirrored. Built by testenv's ensureBaseImages().
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 101 nginx && useradd --system --uid 101 --gid nginx --no-create-home --shell /usr/sbin/nologin nginx \
 && rm -rf /etc/nginx/sites-enabled /etc/nginx/sites-available /var/www/html \
 && mkdir -p /usr/share/nginx/html /etc/nginx/conf.d \
 && chown -R 101:0 /usr/share/nginx/html /etc/nginx/conf.d
COPY nginx.conf /etc/nginx/nginx.conf
COPY default.conf /etc/nginx/conf.d/default.conf
EXPOSE 8080
STOPSIGNAL SIGQUIT
USER 101
LABEL io.wacloud.stand-in="nginx-unprivileged"
CMD ["nginx", "-g", "daemon off;"]
