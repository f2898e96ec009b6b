#!/usr/bin/env bash
# Installs Debian's rabbitmq-server when missing and starts a node on 127.0.0.1:5672 with its
# data under .rabbitmq/ (no systemd needed). Idempotent: a node already answering is left alone.
# Prints the AMQP URI to use on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.rabbitmq"

uri="amqp://guest:guest@127.0.0.1:5672/"
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "installing rabbitmq-server (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq rabbitmq-server >&2
fi

# A node that already accepts AMQP connections on 5672 is reused.
if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "$uri"
  exit 0
fi

mkdir -p "$root/mnesia" "$root/log"
cat > "$root/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5672
loopback_users = none
log.console = false
log.file.level = warning
CONF
chown -R rabbitmq:rabbitmq "$root" 2>/dev/null || true
export RABBITMQ_CONFIG_FILE="$root/rabbitmq" RABBITMQ_MNESIA_BASE="$root/mnesia" RABBITMQ_LOG_BASE="$root/log" \
       RABBITMQ_NODENAME="edge-test@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT=25672 \
       ERL_EPMD_ADDRESS=127.0.0.1
echo "starting rabbitmq-server (node edge-test@localhost, data in $root)" >&2
# Running as root is accepted by the Debian scripts (they switch to the rabbitmq user).
rabbitmq-server -detached >&2 2>&1 || true

deadline=$((SECONDS + 90))
until rabbitmqctl -n edge-test@localhost await_startup --timeout 5 >/dev/null 2>&1; do
  if (( SECONDS > deadline )); then
    echo "rabbitmq-server did not start within 90 s; logs in $root/log" >&2
    exit 1
  fi
  sleep 1
done
echo "$uri"
