#!/usr/bin/env bash
# The tiny upstream for the proxy comparison: nginx answering 200 {"ok":true} with keep-alive
# on 127.0.0.1:${UPSTREAM_PORT:-18090}, ${UPSTREAM_WORKERS:-1} worker(s).
# Usage: upstream.sh [start|stop|pid]. Idempotent.
source "$(dirname "$0")/lib.sh"
port=${UPSTREAM_PORT:-18090}; dir="$RUN_DIR/upstream"
case "${1:-start}" in
  stop) stop_pidfile "$dir/nginx.pid"; exit 0 ;;
  pid) cat "$dir/nginx.pid"; exit 0 ;;
esac
ensure_packages nginx-light
mkdir -p "$dir"
{
  nginx_common "$dir" "${UPSTREAM_WORKERS:-1}"
  echo "http {"
  nginx_http_common "$dir"
  cat <<CONF
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
}
CONF
} > "$dir/nginx.conf"
start_nginx upstream "$port"
