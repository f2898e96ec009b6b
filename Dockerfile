# syntax=docker/dockerfile:1
# The edge (target "edge", the default) and the publisher CLI (target "publisher").
#   docker build -t edge .                      docker build --target publisher -t edge-publisher .
# The .NET container conventions: the aspnet runtime image, the app in /app, the non-root user the
# image defines ($APP_UID, 1654), port 8080, the SDK image only in the build stage.

# 1. The demo's scripts from npm (src/Edge/Demo/package-lock.json), vendored as the build does.
FROM node:22-bookworm-slim AS demo-scripts
WORKDIR /demo
COPY src/Edge/Demo/package.json src/Edge/Demo/package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && mkdir vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.js vendor/

# 2. Restore (cached while no project file changes), then publish.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Edge/Edge.csproj src/Edge/
COPY src/Brokers/Edge.Brokers/Edge.Brokers.csproj src/Brokers/Edge.Brokers/
COPY src/Brokers/Edge.Brokers.RabbitMq/Edge.Brokers.RabbitMq.csproj src/Brokers/Edge.Brokers.RabbitMq/
COPY src/Brokers/Edge.Brokers.Kafka/Edge.Brokers.Kafka.csproj src/Brokers/Edge.Brokers.Kafka/
COPY src/Transports/Edge.Transports/Edge.Transports.csproj src/Transports/Edge.Transports/
COPY src/Transports/Edge.Transports.Sockets/Edge.Transports.Sockets.csproj src/Transports/Edge.Transports.Sockets/
COPY src/Publisher.Samples/Publisher.Samples.csproj src/Publisher.Samples/
RUN dotnet restore src/Edge/Edge.csproj && dotnet restore src/Publisher.Samples/Publisher.Samples.csproj
COPY src/ src/
COPY --from=demo-scripts /demo/vendor/ src/Edge/Demo/wwwroot/vendor/
RUN dotnet publish src/Edge/Edge.csproj -c Release --no-restore -o /app -p:VendorDemoScripts=false \
 && dotnet publish src/Publisher.Samples/Publisher.Samples.csproj -c Release --no-restore -o /publisher

# 3. The publisher CLI: docker run edge-publisher http orders --url http://edge:8080/
FROM mcr.microsoft.com/dotnet/runtime:10.0 AS publisher
WORKDIR /app
COPY --from=build /publisher ./
USER $APP_UID
ENTRYPOINT ["dotnet", "Publisher.Samples.dll"]

# 4. The edge. config/edge.json is the default; mount another and pass --config.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS edge
WORKDIR /app
COPY --from=build /app ./
COPY config/ config/
ENV Edge__Urls=http://0.0.0.0:8080 \
    DOTNET_USE_POLLING_FILE_WATCHER=1
EXPOSE 8080
USER $APP_UID
# No curl in the runtime image: bash asks /_edge/health over a plain socket.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /_edge/health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Edge.dll"]
