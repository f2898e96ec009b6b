#!/usr/bin/env bash
# Pushpin (Debian) on 127.0.0.1:${PUSHPIN_PORT:-18082} in front of a tiny origin (nginx on
# 127.0.0.1:${PUSHPIN_ORIGIN_PORT:-18083}) that answers GET /stream/{channel} with
# "Grip-Hold: stream" + "Grip-Channel: {channel}" and an SSE hello. Publishing goes through
# Pushpin's HTTP publish API: POST http://127.0.0.1:${PUSHPIN_PUBLISH_PORT:-15561}/publish/.
# The handler's message_rate (Debian default 2500/s, a delivery throttle) is raised to ${PUSHPIN_MESSAGE_RATE:-1000000}/s
# and message_hwm to match, so the throttle does not decide the result; set them to keep the defaults.
# Usage: pushpin.sh [start|stop|pid]. Idempotent.
source "$(dirname "$0")/lib.sh"
port=${PUSHPIN_PORT:-18082}; origin=${PUSHPIN_ORIGIN_PORT:-18083}; pub=${PUSHPIN_PUBLISH_PORT:-15561}
dir="$RUN_DIR/pushpin"; odir="$RUN_DIR/pushpin-origin"
case "${1:-start}" in
  stop) stop_pidfile "$dir/pushpin.pid" 15; stop_pidfile "$odir/nginx.pid"; exit 0 ;;
  pid) cat "$dir/pushpin.pid"; exit 0 ;;
esac
ensure_packages pushpin nginx-light
mkdir -p "$dir/run" "$dir/log" "$odir"
{
  nginx_common "$odir" 1
  echo "http {"
  nginx_http_common "$odir"
  cat <<CONF
  server {
    listen 127.0.0.1:$origin;
    location ~ ^/stream/(.+)\$ {
      add_header Grip-Hold stream;
      add_header Grip-Channel \$1;
      add_header Cache-Control no-cache;
      default_type text/event-stream;
      return 200 ":ok

";
    }
  }
}
CONF
} > "$odir/nginx.conf"
start_nginx pushpin-origin "$origin"

if alive "$dir/pushpin.pid"; then log "pushpin already runs (pid $(cat "$dir/pushpin.pid"))"; wait_port "$port"; exit 0; fi
echo "* 127.0.0.1:$origin" > "$dir/routes"
sed -e "s#^rundir=.*#rundir=$dir/run#" \
    -e "s#^ipc_prefix=.*#ipc_prefix=bench-#" \
    -e "s#^http_port=.*#http_port=127.0.0.1:$port#" \
    -e "s#^services=.*#services=condure,zurl,pushpin-proxy,pushpin-handler#" \
    -e "s#^logdir=.*#logdir=$dir/log#" \
    -e "s#^routesfile=.*#routesfile=$dir/routes#" \
    -e "s#^push_in_spec=.*#push_in_spec=tcp://127.0.0.1:$((pub - 1))#" \
    -e "s#^push_in_sub_specs=.*#push_in_sub_specs=tcp://127.0.0.1:$((pub + 1))#" \
    -e "s#^push_in_http_port=.*#push_in_http_port=$pub#" \
    -e "s#^command_spec=tcp.*#command_spec=tcp://127.0.0.1:$((pub + 2))#" \
    -e "s#^message_rate=.*#message_rate=${PUSHPIN_MESSAGE_RATE:-1000000}#" \
    -e "s#^message_hwm=.*#message_hwm=${PUSHPIN_MESSAGE_HWM:-1000000}#" \
    -e "s#^log_level=.*#log_level=${PUSHPIN_LOG_LEVEL:-1}#" \
    /etc/pushpin/pushpin.conf > "$dir/pushpin.conf"
# Debian's internal.conf points the proxy at a system-wide zurl (/var/run/zurl); use our own.
sed -i "s#^\[proxy\]#[proxy]\nzurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in\nzurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream\nzurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out#" "$dir/pushpin.conf"
grep -q "^rundir=$dir/run" "$dir/pushpin.conf"
(
  ulimit -n 20000 2>/dev/null || true
  cd "$dir"
  setsid pushpin --config="$dir/pushpin.conf" > "$dir/log/runner.out" 2>&1 < /dev/null &
  echo $! > "$dir/pushpin.pid"
)
wait_port "$port" 30
wait_port "$pub" 30
log "pushpin listens on 127.0.0.1:$port, publish API on 127.0.0.1:$pub (pid $(cat "$dir/pushpin.pid"), dir $dir)"
