#!/usr/bin/env bash
# Installs a compose client that checks docker-compose.yml without a container engine (Debian's
# docker-compose) when neither `docker compose` nor `docker-compose` works. Optional: without one
# the deployment test still parses every file as YAML. Idempotent.
set -uo pipefail
if docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1; then
  exit 0
fi
echo "installing docker-compose (Debian package, used offline by the deployment test)" >&2
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq docker-compose; } >&2 || echo "docker-compose is not available; the deployment test parses the YAML only" >&2
exit 0
