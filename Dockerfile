# ThrottleWatch agent image, for amd64 and arm64:
#   docker buildx build --platform linux/amd64,linux/arm64 -t throttlewatch-agent .
# The publish step is scripts/publish-agent.sh, which CI runs too (scripts/test.sh, for both
# architectures), so what this file builds is tested even where no Docker engine runs.
#
# amd64 ships NativeAOT: one native binary. Against the JIT build it is ready in a fraction of the
# time and uses far less memory (docs/performance.md, "NativeAOT or JIT"); it is linked at a fixed
# address with its type data paged in from the file (the agent's .csproj; "Type data from the file"). arm64 ships the JIT,
# self-contained and trimmed: NativeAOT for arm64 needs an arm64 linker and libraries on the builder
# (a cross toolchain), which this build stage does not carry. The build stage runs on the builder's
# platform, which must be amd64: the -aot SDK image carries the C toolchain NativeAOT links with
# for its own architecture.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0-noble-aot AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN ./scripts/publish-agent.sh /app "$TARGETARCH"

# Chiseled: no shell, no package manager, non-root (uid 1654) by default. runtime-deps holds only
# what a self-contained agent needs (glibc, OpenSSL, CA certificates): both builds carry their runtime.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
WORKDIR /app
COPY --from=build /app .
USER app
EXPOSE 9808
ENTRYPOINT ["/app/throttlewatch-agent"]
CMD ["run", "--cgroup-root", "/host/sys/fs/cgroup", "--proc-root", "/host/proc", "--listen", "0.0.0.0:9808"]
