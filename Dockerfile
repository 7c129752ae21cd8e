# syntax=docker/dockerfile:1
# A static binary on a distroless, non-root base, built from source:
#   docker buildx build --platform linux/amd64,linux/arm64 -t entra-authmethods-exporter .
# The build stage runs on the builder's own platform and cross-compiles for
# each target (Go needs no emulation); releases use Dockerfile.release with
# goreleaser's binaries instead.
# Both bases are pinned by the digest of their multi-platform index, the tag
# they were taken from in the comment above each FROM: a rebuild gets the same
# bases until the digest is changed here (and in Dockerfile.release) on purpose.
# golang:1.26
FROM --platform=$BUILDPLATFORM golang:1.26@sha256:3c3e25a4da13fd0478eed2df1eb35a0e667094a7124d3993a6a1d30f71c17e79 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev REVISION=unknown BRANCH= BUILD_DATE=
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=${BRANCH} -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/entra-authmethods-exporter ./cmd/entra-authmethods-exporter

# gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:f5b485ea962d9bd1186b2f6b3a061191539b905b82ec395de78cbfae51f20e35
ARG VERSION=dev REVISION=unknown
LABEL org.opencontainers.image.title="entra-authmethods-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Microsoft Entra ID authentication methods reports" \
      org.opencontainers.image.source="https://github.com/entra-authmethods-exporter/entra-authmethods-exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/entra-authmethods-exporter /bin/entra-authmethods-exporter
COPY LICENSE NOTICE /
# distroless's nonroot user by number: a pod that sets only runAsNonRoot: true
# can verify a numeric user, not a name.
USER 65532:65532
EXPOSE 9871
ENTRYPOINT ["/bin/entra-authmethods-exporter"]
CMD ["--config.file=/etc/entra-authmethods-exporter/config.yaml"]
