# Builds qfsign the conventional Caddy way: xcaddy in the builder image,
# the binary on the official runtime image.
#   docker build -f xcaddy.Dockerfile -t qfsign .
FROM caddy:2.11.9-builder AS builder
WORKDIR /src
COPY . /src
# The module root (package qfsign) imports caddymodule, so --with the root works.
RUN xcaddy build v2.11.9 \
	--with github.com/qfsign/qfsign@v0.0.0=/src \
	--output /usr/bin/caddy

FROM caddy:2.11.9
COPY --from=builder /usr/bin/caddy /usr/bin/caddy
COPY Caddyfile.example /etc/caddy/Caddyfile
# Runs as the image's default; keys come from the environment or files at
# start, never from the image.
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
