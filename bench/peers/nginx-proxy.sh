#!/usr/bin/env bash
# nginx proxy_pass to the upstream with upstream keep-alive, on 127.0.0.1:${PROXY_PORT:-18091},
# ${PROXY_WORKERS:-2} workers (one per core). Needs upstream.sh. With PROXY_TLS_PORT, PROXY_TLS_CERT
# and PROXY_TLS_KEY set, the same server also listens on 127.0.0.1:$PROXY_TLS_PORT over TLS
# (`listen ... ssl http2`); the upstream stays plaintext, as for the edge.
# Usage: nginx-proxy.sh [start|stop|pid]. Idempotent.
source "$(dirname "$0")/lib.sh"
port=${PROXY_PORT:-18091}; up=${UPSTREAM_PORT:-18090}; dir="$RUN_DIR/nginx-proxy"
case "${1:-start}" in
  stop) stop_pidfile "$dir/nginx.pid"; exit 0 ;;
  pid) cat "$dir/nginx.pid"; exit 0 ;;
esac
ensure_packages nginx-light
TLS_PORT=${PROXY_TLS_PORT:-} TLS_CERT=${PROXY_TLS_CERT:-} TLS_KEY=${PROXY_TLS_KEY:-} tls_env_check nginx-proxy
mkdir -p "$dir"
{
  nginx_common "$dir" "${PROXY_WORKERS:-2}"
  echo "http {"
  nginx_http_common "$dir"
  cat <<CONF
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream app { server 127.0.0.1:$up; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$port;
$([[ -n "${PROXY_TLS_PORT:-}" ]] && nginx_tls_listen "$PROXY_TLS_PORT" "$PROXY_TLS_CERT" "$PROXY_TLS_KEY")
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
CONF
} > "$dir/nginx.conf"
start_nginx nginx-proxy "$port"
[[ -z "${PROXY_TLS_PORT:-}" ]] || { wait_port "$PROXY_TLS_PORT"; log "nginx-proxy also listens on 127.0.0.1:$PROXY_TLS_PORT (TLS)"; }
