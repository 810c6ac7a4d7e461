# syntax=docker/dockerfile:1
# Build: docker build -t osprey .
# Run:   docker run -p 8080:8080 -e OSPREY_DATABASE_URL=... -e GITHUB_APP_INTEGRATION_ID=... \
#          -e GITHUB_APP_WEBHOOK_SECRET=... -e GITHUB_APP_PRIVATE_KEY_PATH=/run/secrets/key.pem osprey

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/osprey . \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/osprey /usr/local/bin/osprey
# Setup mode writes the app's credentials here; mount a volume to keep them.
# (distroless has no shell: the directory is copied in already owned by nonroot.)
COPY --from=build --chown=65532:65532 /out/state /var/lib/osprey
WORKDIR /var/lib/osprey
ENV OSPREY_ADDRESS=:8080 \
    OSPREY_CREDENTIALS_FILE=/var/lib/osprey/osprey-credentials.yml
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/osprey"]
CMD ["serve"]
