# Licensor in a container: a multi-stage build (Go + npm for the web
# assets), then a small Debian image running as a non-root user with the
# PostgreSQL client tools (pg_dump, psql) for backups and checks.
# docker build -t licensor . && docker compose up (see compose.yaml, docs/deploy.md)

FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
ARG VERSION=dev
# make build writes bin/licensor and the shipped plugins under bin/plugins.
RUN make build VERSION=$VERSION GO="go" && test -x bin/licensor

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/licensor --create-home licensor
COPY --from=build /src/bin/ /opt/licensor/
# Settings come from LICENSOR_* variables (config.example.yaml lists them
# all); DATABASE_URL must point at PostgreSQL: the image has no server.
ENV LICENSOR_HTTP_ADDR=0.0.0.0:8080 \
    LICENSOR_DATA_DIR=/var/lib/licensor \
    LICENSOR_PLUGINS_DIR=/opt/licensor/plugins \
    LICENSOR_LOG_FORMAT=json
USER licensor:licensor
WORKDIR /var/lib/licensor
VOLUME /var/lib/licensor
EXPOSE 8080
ENTRYPOINT ["/opt/licensor/licensor"]
CMD ["serve"]
