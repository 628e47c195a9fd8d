# ThrottleWatch agent image, for amd64 and arm64:
#   docker buildx build --platform linux/amd64,linux/arm64 -t throttlewatch-agent .
# The publish step is scripts/publish-agent.sh, which CI runs too (scripts/test.sh, for both
# architectures), so what this file builds is tested even where no Docker engine runs.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN ./scripts/publish-agent.sh /app "$TARGETARCH"

# Chiseled: no shell, no package manager, non-root (uid 1654) by default. The aspnet variant: the
# agent serves /metrics with Kestrel, which the plain runtime image lacks. (NativeAOT on
# runtime-deps is measured in docs/performance.md before it replaces this.)
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
WORKDIR /app
COPY --from=build /app .
USER app
EXPOSE 9808
ENTRYPOINT ["/app/throttlewatch-agent"]
CMD ["run", "--cgroup-root", "/host/sys/fs/cgroup", "--proc-root", "/host/proc", "--listen", "0.0.0.0:9808"]
