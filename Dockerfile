# tollgate container image: build in a full Rust image, run in a small Debian one
# as an unprivileged user.
#
#   docker build --build-arg TOLLGATE_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t tollgate .
#   docker run -p 8080:8080 -p 9090:9090 -v $PWD/conf:/etc/tollgate:ro tollgate
#
# The image reads /etc/tollgate/tollgate.yaml (mount yours there); its listeners must
# bind 0.0.0.0 inside the container (see deploy/compose.yaml).

FROM rust:1-bookworm AS build
# Pingora builds zlib-ng with cmake.
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not in the build context: the commit `tollgate --version` names comes from here.
ARG TOLLGATE_GIT_COMMIT=unknown
ENV TOLLGATE_GIT_COMMIT=${TOLLGATE_GIT_COMMIT}
# The `dist` profile is the release profile without debug info, stripped.
RUN cargo build --profile dist --bin tollgate --bin tollgate-mock \
 && cp target/dist/tollgate target/dist/tollgate-mock /usr/local/bin/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin tollgate
COPY --from=build /usr/local/bin/tollgate /usr/local/bin/tollgate
COPY --from=build /usr/local/bin/tollgate-mock /usr/local/bin/tollgate-mock
COPY conf/tollgate.example.yaml /usr/share/tollgate/tollgate.example.yaml
USER 10001
EXPOSE 8080 9090
ENV TOLLGATE_CONFIG=/etc/tollgate/tollgate.yaml
# No curl in the slim image: bash's /dev/tcp asks the admin plane for /livez.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["bash", "-c", \
  "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /livez HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tollgate"]
