#!/usr/bin/env bash
# Installs what the Kafka tests use besides .NET: Debian's kcat, an independent Kafka client.
# Idempotent: does nothing when kcat is already there. The tests themselves need no Kafka
# server: they use EDGE_KAFKA_BOOTSTRAP when set, else librdkafka's built-in mock cluster.
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "kcat is missing and this script is not root: install it with 'apt-get install -y kcat'" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get install -y kcat >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y kcat >/dev/null; }
command -v kcat >/dev/null
