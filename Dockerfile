# Multi-stage build: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/entra-authmethods-exporter ./cmd/exporter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/entra-authmethods-exporter /bin/entra-authmethods-exporter
USER nonroot:nonroot
EXPOSE 9871
ENTRYPOINT ["/bin/entra-authmethods-exporter"]
CMD ["--config.file=/etc/entra-authmethods-exporter/config.yaml"]
