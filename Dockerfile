# syntax=docker/dockerfile:1
# A static binary on a distroless, non-root base, built from source:
#   docker buildx build --platform linux/amd64,linux/arm64 -t entra-authmethods-exporter .
# The build stage runs on the builder's own platform and cross-compiles for
# each target (Go needs no emulation); releases use Dockerfile.release with
# goreleaser's binaries instead.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev REVISION=unknown BRANCH= BUILD_DATE=
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=${BRANCH} -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/entra-authmethods-exporter ./cmd/exporter

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev REVISION=unknown
LABEL org.opencontainers.image.title="entra-authmethods-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Microsoft Entra ID authentication methods reports" \
      org.opencontainers.image.source="https://github.com/entra-authmethods-exporter/entra-authmethods-exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/entra-authmethods-exporter /bin/entra-authmethods-exporter
COPY LICENSE /LICENSE
USER nonroot:nonroot
EXPOSE 9871
ENTRYPOINT ["/bin/entra-authmethods-exporter"]
CMD ["--config.file=/etc/entra-authmethods-exporter/config.yaml"]
