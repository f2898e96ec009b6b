#!/usr/bin/env bash
# Where the server's CPU goes over TLS: samples the edge and nginx(+nchan) with `perf record` while the
# load tool opens TLS streams, while it fans events out over TLS, and while wrk drives the proxy over
# TLS, and prints for each phase the share of CPU samples by library (libcrypto, libssl, the .NET
# runtime, JIT-compiled code, the kernel) and the top functions. The edge runs with
# DOTNET_PerfMapEnabled=1 and DOTNET_EnableWriteXorExecute=0 so perf names JIT-compiled methods. Same certificate (RSA 2048, made here),
# same full handshakes (no tickets, no session cache) as bench/run.sh's TLS rows.
#
#   bash bench/tls-profile.sh                      # open 3000 TLS streams, fan-out 500 x 35/s, wrk 10 s
#   bash bench/tls-profile.sh --phases open --streams 2000
#   bash bench/tls-profile.sh --targets edge --edge-args "--Edge:Tls:ReleaseIdleBuffers=false"
#
# Output: bench/results/tls-profile-<UTC time>/<phase>-<target>.{dso,sym}.txt and a summary on stdout.
# Needs linux-perf (installed here if missing). Ports (environment): EDGE_PORT (16080), EDGE_TLS_PORT
# (16443), NCHAN_PORT (16081), NCHAN_TLS_PORT (16444), UPSTREAM_PORT (16090), PROXY_PORT (16091),
# PROXY_TLS_PORT (16445).
set -euo pipefail
cd "$(dirname "$0")/.."
phases="open,fanout,proxy"; targets="edge,nchan"; streams=3000; channels=100
fanout="500,1,35"; seconds=10; wrk_c=64; wrk_d=10; edge_args=""; freq=499
while (( $# )); do
  case "$1" in
    --phases) phases=$2; shift ;;
    --targets) targets=$2; shift ;;
    --streams) streams=$2; shift ;;
    --fanout) fanout=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --wrk-seconds) wrk_d=$2; shift ;;
    --edge-args) edge_args=$2; shift ;;
    --frequency) freq=$2; shift ;;
    *) echo "unknown option $1 (see the head of bench/tls-profile.sh)" >&2; exit 2 ;;
  esac
  shift
done

export EDGE_PORT=${EDGE_PORT:-16080} EDGE_TLS_PORT=${EDGE_TLS_PORT:-16443}
export NCHAN_PORT=${NCHAN_PORT:-16081} UPSTREAM_PORT=${UPSTREAM_PORT:-16090} PROXY_PORT=${PROXY_PORT:-16091}
nchan_tls_port=${NCHAN_TLS_PORT:-16444}; proxy_tls_port=${PROXY_TLS_PORT:-16445}
unset NCHAN_TLS_PORT PROXY_TLS_PORT
export BENCH_RUN_DIR=${BENCH_RUN_DIR:-$PWD/bench/.run/profile}
source bench/peers/lib.sh
command -v perf >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >&2; }
ensure_packages wrk nginx-light libnginx-mod-nchan
ulimit -n 20000 2>/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out_dir=bench/results/tls-profile-$stamp; mkdir -p "$out_dir" "$RUN_DIR"
BENCH="dotnet bench/Edge.Bench/bin/Release/net10.0/Edge.Bench.dll"
EDGE_DLL=src/Edge/bin/Release/net10.0/Edge.dll
[[ -f "$EDGE_DLL" && -f bench/Edge.Bench/bin/Release/net10.0/Edge.Bench.dll ]] || {
  dotnet build src/Edge -c Release -nologo -v q >&2; dotnet build bench/Edge.Bench -c Release -nologo -v q >&2; }

tls_dir=$RUN_DIR/tls; mkdir -p "$tls_dir"
cert=$tls_dir/cert.pem; key=$tls_dir/key.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$key" -out "$cert" -days 30 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

edge_pid=""
start_edge() {
  mkdir -p "$RUN_DIR/edge"
  # shellcheck disable=SC2086
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 setsid dotnet "$EDGE_DLL" --config bench/edge-bench.json \
    "--Edge:Urls=http://127.0.0.1:$EDGE_PORT;https://127.0.0.1:$EDGE_TLS_PORT" \
    "--Edge:Tls:Certificates:bench:Path=$cert" "--Edge:Tls:Certificates:bench:KeyPath=$key" \
    "--ReverseProxy:Clusters:app:Destinations:app1:Address=http://127.0.0.1:$UPSTREAM_PORT" $edge_args \
    > "$RUN_DIR/edge/edge.log" 2>&1 < /dev/null &
  edge_pid=$!
  wait_port "$EDGE_TLS_PORT" 60
}
stop_edge() {
  [[ -n "$edge_pid" ]] || return 0
  kill -TERM "$edge_pid" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 "$edge_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$edge_pid" 2>/dev/null || true
  edge_pid=""
}
nchan() { NCHAN_TLS_PORT=$nchan_tls_port NCHAN_TLS_CERT=$cert NCHAN_TLS_KEY=$key bash bench/peers/nchan.sh "$@"; }
nginx_proxy() { PROXY_TLS_PORT=$proxy_tls_port PROXY_TLS_CERT=$cert PROXY_TLS_KEY=$key bash bench/peers/nginx-proxy.sh "$@"; }
workers_of() { local master=$1; pgrep -P "$master" | paste -sd, -; }
cleanup() { stop_edge; nchan stop >/dev/null 2>&1 || true; nginx_proxy stop >/dev/null 2>&1 || true; bash bench/peers/upstream.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

# The system calls counted in every phase (perf's syscall tracepoints), by name.
SYSCALLS=(sendto sendmsg write writev recvfrom recvmsg read epoll_wait epoll_ctl futex)

# profile NAME PIDS COMMAND...: perf samples PIDS (all their threads) while COMMAND runs, and counts
# their system calls. Prints CPU seconds by library (samples / frequency) and the top functions.
profile() {
  local name=$1 pids=$2; shift 2
  local data=$RUN_DIR/$name.perf.data stat=$out_dir/$name.syscalls.txt events=() c
  for c in "${SYSCALLS[@]}"; do events+=(-e "syscalls:sys_enter_$c"); done
  perf record -F "$freq" -g -p "$pids" -o "$data" >/dev/null 2>"$RUN_DIR/$name.perf.log" &
  local record_pid=$!
  perf stat "${events[@]}" -x, -p "$pids" -o "$stat" >/dev/null 2>&1 &
  local stat_pid=$!
  sleep 0.5
  "$@" || log "$name: the load command failed ($?)"
  kill -INT "$record_pid" "$stat_pid" 2>/dev/null || true
  wait "$record_pid" "$stat_pid" 2>/dev/null || true
  perf report -i "$data" --no-children --sort dso -n --stdio -g none 2>/dev/null | { grep -v -e '^#' -e '^$' || true; } \
    | awk -v f="$freq" '{ printf "%8.2f s  %6s  %s\n", $2 / f, $1, $3 }' | head -n 12 > "$out_dir/$name.dso.txt" || true
  perf report -i "$data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | { grep -v -e '^#' -e '^$' || true; } | head -n 40 > "$out_dir/$name.sym.txt" || true
  echo "## $name: CPU seconds by library (all samples: $(awk '{ t += $1 } END { printf "%.2f s", t }' "$out_dir/$name.dso.txt"))"
  sed 's/^/    /' "$out_dir/$name.dso.txt" || true
  echo "    system calls: $(awk -F, '$1 ~ /^[0-9]+$/ { sub("syscalls:sys_enter_", "", $3); printf "%s %s, ", $3, $1 }' "$stat" 2>/dev/null)"
  echo "    top functions:"
  sed 's/^/    /' "$out_dir/$name.sym.txt" | head -n 15 || true
  echo
  rm -f "$data"
}

IFS=, read -ra phase_list <<<"$phases"
IFS=, read -ra target_list <<<"$targets"
IFS=, read -r fo_s fo_k fo_r <<<"$fanout"
exec > >(tee "$out_dir/summary.md")
for port in "$EDGE_PORT" "$EDGE_TLS_PORT" "$NCHAN_PORT" "$nchan_tls_port" "$UPSTREAM_PORT" "$PROXY_PORT" "$proxy_tls_port"; do
  if ss -Hltn "sport = :$port" | grep -q .; then echo "port $port is in use: stop what holds it or set the port variables (see the head of this script)" >&2; exit 1; fi
done
echo "# TLS CPU profile, $(date -u '+%Y-%m-%d %H:%M UTC'): perf cpu-clock samples at ${freq} Hz of the server processes only"
echo
for phase in "${phase_list[@]}"; do
  for t in "${target_list[@]}"; do
    case "$phase:$t" in
      open:edge|fanout:edge) start_edge; root=$edge_pid; pids=$edge_pid; tls=(--target edge --tls --port "$EDGE_TLS_PORT" --publish-port "$EDGE_PORT") ;;
      open:nchan|fanout:nchan) nchan start >/dev/null; root=$(nchan pid); pids=$(workers_of "$root"); tls=(--target nchan --tls --port "$nchan_tls_port" --publish-port "$NCHAN_PORT") ;;
      proxy:edge) bash bench/peers/upstream.sh start >/dev/null; start_edge; pids=$edge_pid; url=https://127.0.0.1:$EDGE_TLS_PORT/proxy-test ;;
      proxy:nchan) bash bench/peers/upstream.sh start >/dev/null; nginx_proxy start >/dev/null; pids=$(workers_of "$(nginx_proxy pid)"); url=https://127.0.0.1:$proxy_tls_port/proxy-test ;;
      *) echo "unknown phase $phase" >&2; exit 2 ;;
    esac
    sleep 1
    case "$phase" in
      open) profile "open-$t" "$pids" $BENCH hold "${tls[@]}" --pid "$root" --label profile --streams "$streams" --channels "$channels" --settle 1 --hold-seconds 1 --out "$RUN_DIR/profile.jsonl" ;;
      fanout) $BENCH hold "${tls[@]}" --pid "$root" --label warm --streams 200 --channels 10 --settle 1 --hold-seconds 1 --out /dev/null >/dev/null 2>&1 || true
              profile "fanout-$t" "$pids" $BENCH fanout "${tls[@]}" --pid "$root" --label profile --subs "$fo_s" --channels "$fo_k" --rate "$fo_r" --seconds "$seconds" --out "$RUN_DIR/profile.jsonl" ;;
      proxy) wrk -t1 -c"$wrk_c" -d3s "$url" >/dev/null 2>&1 || true
             profile "proxy-$t" "$pids" wrk -t1 -c"$wrk_c" -d"${wrk_d}s" "$url" ;;
    esac
    case "$phase:$t" in
      *:edge) stop_edge; bash bench/peers/upstream.sh stop >/dev/null 2>&1 || true ;;
      open:nchan|fanout:nchan) nchan stop >/dev/null ;;
      proxy:nchan) nginx_proxy stop >/dev/null; bash bench/peers/upstream.sh stop >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
done
