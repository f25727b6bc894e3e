# syntax=docker/dockerfile:1
# Build: docker build -t trtcd .
# Run:   docker run -e TRTCD_APPS=SDKAPPID:SECRETKEY -p 8080:8080 -v trtcd-data:/var/lib/trtcd trtcd
# Without an app (TRTCD_APPS, or --app, or a config file) the container exits
# with a message: the development app never serves on a public listener.
FROM golang:1.26-bookworm AS build
# The audio codecs (the codec package's cgo), linked statically below.
RUN apt-get update && apt-get install -y --no-install-recommends \
      libopus-dev libfaad-dev libvo-aacenc-dev libmp3lame-dev libspeexdsp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo -ldflags "-s -w -X main.version=${VERSION} -extldflags -static" -o /out/trtcd ./cmd/trtcd

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/trtcd --create-home trtcd
COPY --from=build /out/trtcd /usr/local/bin/trtcd
USER trtcd
VOLUME /var/lib/trtcd
# HTTP (APIs, HTTP-FLV, health, metrics), WebRTC media (UDP, ICE-TCP), RTMP.
EXPOSE 8080 8000/udp 8000/tcp 1935
ENTRYPOINT ["/usr/local/bin/trtcd"]
CMD ["serve", "--http", "0.0.0.0:8080", "--data", "/var/lib/trtcd"]
