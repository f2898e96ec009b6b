# Shared helpers for the peer scripts (sourced). Everything listens on 127.0.0.1 only and lives
# under bench/.run/<name>/ (a scratch directory, git-ignored).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${BENCH_RUN_DIR:-$BENCH_DIR/.run}"

log() { echo "[peers] $*" >&2; }

# wait_port PORT [SECONDS]: until 127.0.0.1:PORT accepts a connection.
wait_port() {
  local port=$1 limit=${2:-30} deadline=$((SECONDS + ${2:-30}))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if (( SECONDS > deadline )); then log "nothing listens on 127.0.0.1:$port after ${limit} s"; return 1; fi
    sleep 0.2
  done
}

# alive PIDFILE: the process named in PIDFILE runs.
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile PIDFILE [SECONDS]: TERM the process in PIDFILE, KILL it after the deadline.
stop_pidfile() {
  local f=$1 limit=${2:-10}
  alive "$f" || { rm -f "$f"; return 0; }
  local pid; pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS > deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.2
  done
  rm -f "$f"
}

# ensure_packages PKG...: installs the Debian packages that are missing.
ensure_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if (( ${#missing[@]} )); then
    log "installing ${missing[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { apt-get update -qq >&2; apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
  fi
}

# nginx_common DIR: the top of an nginx.conf with everything kept in DIR.
nginx_common() {
  local dir=$1 workers=$2
  mkdir -p "$dir/tmp"
  cat <<CONF
user root;
worker_processes $workers;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 19000; multi_accept on; }
CONF
}

nginx_http_common() {
  local dir=$1
  cat <<CONF
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
CONF
}

# start_nginx NAME PORT: starts nginx with RUN_DIR/NAME/nginx.conf unless it already runs.
start_nginx() {
  local name=$1 port=$2 dir="$RUN_DIR/$1"
  if alive "$dir/nginx.pid"; then log "$name already runs (pid $(cat "$dir/nginx.pid"))"; wait_port "$port"; return 0; fi
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" -g 'daemon on;' >&2
  (ulimit -n 20000 2>/dev/null || true; nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon on;')
  wait_port "$port"
  log "$name listens on 127.0.0.1:$port (pid $(cat "$dir/nginx.pid"), dir $dir)"
}

# The TLS settings both the edge and nginx get in a TLS run: TLS 1.2 and 1.3 only, and .NET's
# cipher preference on Linux (System.Security.Cryptography.Native's default cipher string for
# TLS 1.2, OpenSSL's default TLS 1.3 suites), server preference as .NET always sets it. The client
# (bench/Edge.Bench) offers both versions and .NET's defaults, so both servers negotiate the same;
# every hold/fanout line records what was negotiated ("tls").
NGINX_TLS_CIPHERS="ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256"
NGINX_TLS13_SUITES="TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

# nginx_tls_listen PORT CERT KEY: a TLS listener (HTTP/2 and HTTP/1.1 by ALPN) for a server block,
# in Debian nginx 1.22's syntax (`listen ... ssl http2`). Session tickets and the session cache
# are off: every connection makes a full handshake, as the load tool's clients do.
nginx_tls_listen() {
  local port=$1 cert=$2 key=$3
  cat <<CONF
    listen 127.0.0.1:$port ssl http2;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $NGINX_TLS_CIPHERS;
    ssl_conf_command Ciphersuites $NGINX_TLS13_SUITES;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets off;
    ssl_session_cache off;
CONF
}

# tls_env_check NAME: TLS_PORT set needs TLS_CERT and TLS_KEY (readable files).
tls_env_check() {
  local name=$1
  [[ -z "${TLS_PORT:-}" ]] && return 0
  if [[ ! -r "${TLS_CERT:-}" || ! -r "${TLS_KEY:-}" ]]; then
    log "$name: TLS_PORT=$TLS_PORT needs TLS_CERT and TLS_KEY (PEM files)"; return 1
  fi
}
