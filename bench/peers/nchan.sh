#!/usr/bin/env bash
# nginx + Debian's libnginx-mod-nchan on 127.0.0.1:${NCHAN_PORT:-18081}, 2 workers.
#   GET  /sub/{channel}  EventSource subscriber, message buffer for Last-Event-ID resume
#   POST /pub/{channel}  publisher (body = message)
# With NCHAN_TLS_PORT, NCHAN_TLS_CERT and NCHAN_TLS_KEY set, the same locations also listen on
# 127.0.0.1:$NCHAN_TLS_PORT over TLS with HTTP/2 (`listen ... ssl http2`, see nginx_tls_listen in lib.sh);
# the plaintext port stays (the publisher uses it).
# Usage: nchan.sh [start|stop|pid]. Idempotent.
source "$(dirname "$0")/lib.sh"
port=${NCHAN_PORT:-18081}; dir="$RUN_DIR/nchan"
case "${1:-start}" in
  stop) stop_pidfile "$dir/nginx.pid"; exit 0 ;;
  pid) cat "$dir/nginx.pid"; exit 0 ;;
esac
ensure_packages nginx-light libnginx-mod-nchan
TLS_PORT=${NCHAN_TLS_PORT:-} TLS_CERT=${NCHAN_TLS_CERT:-} TLS_KEY=${NCHAN_TLS_KEY:-} tls_env_check nchan
mkdir -p "$dir"
{
  echo "load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"
  nginx_common "$dir" "${NCHAN_WORKERS:-2}"
  echo "http {"
  nginx_http_common "$dir"
  cat <<CONF
  nchan_shared_memory_size ${NCHAN_SHM:-256M};
  server {
    listen 127.0.0.1:$port;
$([[ -n "${NCHAN_TLS_PORT:-}" ]] && nginx_tls_listen "$NCHAN_TLS_PORT" "$NCHAN_TLS_CERT" "$NCHAN_TLS_KEY")
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber eventsource;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 10m;
    }
    location ~ ^/pub/(.+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 10m;
    }
  }
}
CONF
} > "$dir/nginx.conf"
start_nginx nchan "$port"
[[ -z "${NCHAN_TLS_PORT:-}" ]] || { wait_port "$NCHAN_TLS_PORT"; log "nchan also listens on 127.0.0.1:$NCHAN_TLS_PORT (TLS, h2 + http/1.1)"; }
