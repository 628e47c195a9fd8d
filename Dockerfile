# ThrottleWatch agent image. Build: docker build -t throttlewatch-agent .
# The publish step is scripts/publish-agent.sh, which CI runs too (scripts/test.sh), so what this
# file builds is tested even where no Docker engine runs.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN ./scripts/publish-agent.sh /app

# Chiseled: no shell, no package manager, non-root (uid 1654) by default. The aspnet variant: the
# agent serves /metrics with Kestrel, which the plain runtime image lacks.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
WORKDIR /app
COPY --from=build /app .
USER app
ENTRYPOINT ["/app/throttlewatch-agent"]
EXPOSE 9808
CMD ["run", "--cgroup-root", "/host/sys/fs/cgroup", "--proc-root", "/host/proc", "--listen", "0.0.0.0:9808"]
