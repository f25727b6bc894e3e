# syntax=docker/dockerfile:1
# Build: docker build -t trtcd .
# Run:   docker run -p 8080:8080 -v trtcd-data:/var/lib/trtcd trtcd
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/trtcd ./cmd/trtcd

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/trtcd --create-home trtcd
COPY --from=build /out/trtcd /usr/local/bin/trtcd
USER trtcd
VOLUME /var/lib/trtcd
# HTTP (health, metrics, APIs). Later: UDP media, RTMP 1935.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/trtcd"]
CMD ["serve", "--http", "0.0.0.0:8080", "--data", "/var/lib/trtcd"]
