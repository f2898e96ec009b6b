#!/usr/bin/env bash
# One benchmark run: the edge, nginx+nchan and Pushpin in turn, the same parameters against each,
# then the proxy comparison (wrk: upstream direct, nginx proxy_pass, the bare YARP app of
# bench/Edge.BareYarp, the edge's catch-all YARP route), then Markdown tables with edge/peer ratios. Raw JSON lines go to bench/results/run-<UTC time>.jsonl, the table
# to bench/results/run-<UTC time>.md. Everything runs on 127.0.0.1; every load loop is bounded.
#
#   bash bench/run.sh             # full scale (the issue's table); ~15-25 min on 2 cores
#   bash bench/run.sh --quick     # small numbers, < 3 min, checks everything end to end
#   bash bench/run.sh --proxy-only --wrk-rounds 5   # only the proxy comparison (~4 min)
#   bash bench/run.sh --tls           # everything, then the TLS rows (edge and nchan over TLS, HTTP/2, proxy over TLS)
#   bash bench/run.sh --tls-only --quick            # only the TLS rows, small numbers
#
# Options (defaults = full scale):
#   --targets edge,nchan,pushpin      which SSE systems to measure
#   --no-proxy                        skip the wrk comparison
#   --proxy-only                      only the wrk comparison (same as --targets "")
#   --skip-build                      use the existing Release builds
#   --hold N --hold-channels K        idle streams (10000 over 100)
#   --fanout-a S,K,R                  subscribers, channels, events/s (1000,1,35)
#   --fanout-b S,K,R                  (10000,100,350)
#   --seconds T                       publishing time per fan-out measurement (20)
#   --max S,K --max-rates r1,r2,...   stepped fan-out until lost>0 or p99>=100 ms (1000,1; 20,35,50,70,100,140,200,280,400,560,800)
#   --storm S,K,R --cuts C            reconnect storm (1000,10,100; 3 cuts in --storm-seconds 20)
#   --wrk "-t1 -c64 -d10"             threads, connections, seconds for wrk
#   --wrk-rounds N                    wrk rounds per target, alternating targets; the table takes the medians (3)
#   --proxy-edge-args "..."           extra arguments for the edge in the proxy comparison only
#   --large N --edge-processes P      also hold N streams on P edge processes sharing the port with
#                                     --Edge:ReusePort=true (and nchan with enough workers); needs
#                                     the edge's ReusePort support and, for fan-out, a shared broker
#   --edge-args "..."                 extra arguments for every edge process, e.g. a broker:
#                                     "--Edge:Broker:Type=RabbitMq ..." (a shared broker for P > 1)
# TLS rows (edge and nginx+nchan, one self-signed RSA 2048 certificate made for the run, TLS 1.2+1.3,
# the same cipher preference; publishing stays plaintext on each server's plain port):
#   --tls                             add them after the plaintext part
#   --tls-only                        only them (no plaintext targets, no plaintext proxy, no --large)
#   --tls-targets edge,nchan          which systems get TLS rows
#   --tls-hold N                      idle streams over TLS/HTTP/1.1 (10000, over --hold-channels)
#   --tls-h2 C,S                      HTTP/2: C TLS connections x S streams each (1000,10)
#   --tls-fanout S,K,R                fan-out over TLS/HTTP/1.1 (1000,1,35), --seconds long
#   (the proxy over TLS runs with them unless --no-proxy: wrk https://, edge vs nginx proxy_pass)
# Ports of the proxy comparison (environment, so runs in several work trees can share a machine):
#   EDGE_PORT (18080), BARE_YARP_PORT (18084), UPSTREAM_PORT (18090), PROXY_PORT (18091; nginx),
#   NCHAN_PORT (18081), and for TLS EDGE_TLS_PORT (18443), NCHAN_TLS_PORT (18444), PROXY_TLS_PORT (18445).
#   Pushpin keeps its ports (18082-18083).
set -euo pipefail
cmdline="bash bench/run.sh${*:+ $*}"
cd "$(dirname "$0")/.."
ROOT=$PWD
source bench/peers/lib.sh

targets="edge,nchan,pushpin"; proxy=1; build=1; quick=0
hold=10000; hold_ch=100
fa="1000,1,35"; fb="10000,100,350"; seconds=20
maxsc="1000,1"; maxrates="20,35,50,70,100,140,200,280,400,560,800"; max_seconds=10
storm="1000,10,100"; cuts=3; storm_seconds=20
wrk_t=1; wrk_c=64; wrk_d=10; wrk_rounds=3
large=0; edge_procs=1; edge_args=""; proxy_edge_args=""
warm=3; settle=3; holdsec=5
plain=1; tls=0; tls_targets="edge,nchan"; tls_hold=10000; tls_h2="1000,10"; tls_fa="1000,1,35"
while (( $# )); do
  case "$1" in
    --quick) quick=1
      hold=1000; hold_ch=10; fa="200,1,20"; fb="500,10,50"; seconds=3
      maxsc="200,1"; maxrates="20,60,180"; max_seconds=3
      storm="200,10,50"; cuts=1; storm_seconds=5; wrk_d=3; wrk_rounds=1; warm=1; settle=1; holdsec=1
      tls_hold=300; tls_h2="30,10"; tls_fa="100,1,20" ;;
    --tls) tls=1 ;;
    --tls-only) tls=1; plain=0 ;;
    --tls-targets) tls_targets=$2; shift ;;
    --tls-hold) tls_hold=$2; shift ;;
    --tls-h2) tls_h2=$2; shift ;;
    --tls-fanout) tls_fa=$2; shift ;;
    --targets) targets=$2; shift ;;
    --no-proxy) proxy=0 ;;
    --proxy-only) targets=""; proxy=1 ;;
    --proxy-edge-args) proxy_edge_args=$2; shift ;;
    --skip-build) build=0 ;;
    --hold) hold=$2; shift ;;
    --hold-channels) hold_ch=$2; shift ;;
    --fanout-a) fa=$2; shift ;;
    --fanout-b) fb=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --max) maxsc=$2; shift ;;
    --max-rates) maxrates=$2; shift ;;
    --max-seconds) max_seconds=$2; shift ;;
    --storm) storm=$2; shift ;;
    --cuts) cuts=$2; shift ;;
    --storm-seconds) storm_seconds=$2; shift ;;
    --wrk) read -r wrk_t wrk_c wrk_d <<<"$(echo "$2" | tr -d 'tcd-')"; shift ;;
    --wrk-rounds) wrk_rounds=$2; shift ;;
    --large) large=$2; shift ;;
    --edge-processes) edge_procs=$2; shift ;;
    --edge-args) edge_args=$2; shift ;;
    *) echo "unknown option $1 (see the head of bench/run.sh)" >&2; exit 2 ;;
  esac
  shift
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results "$RUN_DIR"
out="bench/results/run-$stamp.jsonl"; table="bench/results/run-$stamp.md"
: > "$out"
BENCH="dotnet bench/Edge.Bench/bin/Release/net10.0/Edge.Bench.dll"
EDGE_DLL=src/Edge/bin/Release/net10.0/Edge.dll
BARE_YARP_DLL=bench/Edge.BareYarp/bin/Release/net10.0/Edge.BareYarp.dll
EDGE_PORT=${EDGE_PORT:-18080}
BARE_YARP_PORT=${BARE_YARP_PORT:-18084}
export UPSTREAM_PORT=${UPSTREAM_PORT:-18090} PROXY_PORT=${PROXY_PORT:-18091} NCHAN_PORT=${NCHAN_PORT:-18081}
EDGE_TLS_PORT=${EDGE_TLS_PORT:-18443}
export NCHAN_TLS_PORT_RUN=${NCHAN_TLS_PORT:-18444} PROXY_TLS_PORT_RUN=${PROXY_TLS_PORT:-18445}
unset NCHAN_TLS_PORT PROXY_TLS_PORT   # the peers listen on TLS only when the TLS part asks them to
UPSTREAM_URL=http://127.0.0.1:$UPSTREAM_PORT
# The edge's and the bare YARP app's port and upstream, on the command line over edge-bench.json.
PORT_ARGS=(--Edge:Urls=http://127.0.0.1:$EDGE_PORT --ReverseProxy:Clusters:app:Destinations:app1:Address=$UPSTREAM_URL)
ulimit -n 20000 2>/dev/null || log "could not raise the open-files limit (now $(ulimit -n))"

if (( build )); then
  log "building the edge and the load tool (Release)"
  dotnet build src/Edge -c Release -nologo -v q >&2
  dotnet build bench/Edge.Bench -c Release -nologo -v q >&2
  dotnet build bench/Edge.BareYarp -c Release -nologo -v q >&2
fi
ensure_packages wrk nginx-light libnginx-mod-nchan pushpin

EDGE_PIDS=()
stop_edges() {
  local p
  for p in "${EDGE_PIDS[@]:-}"; do
    [[ -n "$p" ]] || continue
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${EDGE_PIDS[@]:-}"; do
    [[ -n "$p" ]] || continue
    for _ in $(seq 1 75); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  EDGE_PIDS=()
}

# start_edges K [ARGS...]: K edge processes on one port (SO_REUSEPORT when K > 1), with ARGS
# added to each. Fails when one dies.
start_edges() {
  local k=$1 i extra=()
  shift
  extra+=("$@")
  (( k > 1 )) && extra+=(--Edge:ReusePort=true)
  mkdir -p "$RUN_DIR/edge"
  for i in $(seq 1 "$k"); do
    # shellcheck disable=SC2086
    setsid dotnet "$EDGE_DLL" --config bench/edge-bench.json "${PORT_ARGS[@]}" "${extra[@]}" $edge_args \
      > "$RUN_DIR/edge/edge-$i.log" 2>&1 < /dev/null &
    EDGE_PIDS+=($!)
    (( i == 1 )) && wait_port "$EDGE_PORT" 60
  done
  sleep 2
  for i in "${!EDGE_PIDS[@]}"; do
    if ! kill -0 "${EDGE_PIDS[$i]}" 2>/dev/null; then
      log "edge process $((i + 1)) of $k exited; its log:"; tail -n 20 "$RUN_DIR/edge/edge-$((i + 1)).log" >&2
      stop_edges; return 1
    fi
  done
  log "edge: $k process(es) on 127.0.0.1:$EDGE_PORT (pids ${EDGE_PIDS[*]})"
}

BARE_YARP_PID=""
start_bare_yarp() {
  mkdir -p "$RUN_DIR/bare-yarp"
  setsid dotnet "$BARE_YARP_DLL" --config bench/edge-bench.json --urls "http://127.0.0.1:$BARE_YARP_PORT" \
    "--ReverseProxy:Clusters:app:Destinations:app1:Address=$UPSTREAM_URL" > "$RUN_DIR/bare-yarp/bare-yarp.log" 2>&1 < /dev/null &
  BARE_YARP_PID=$!
  wait_port "$BARE_YARP_PORT" 60
  log "bare YARP on 127.0.0.1:$BARE_YARP_PORT (pid $BARE_YARP_PID)"
}
stop_bare_yarp() {
  [[ -n "$BARE_YARP_PID" ]] || return 0
  kill -TERM "$BARE_YARP_PID" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 "$BARE_YARP_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$BARE_YARP_PID" 2>/dev/null || true
  BARE_YARP_PID=""
}

cleanup() {
  stop_edges
  stop_bare_yarp
  for s in nchan pushpin nginx-proxy upstream; do bash bench/peers/$s.sh stop >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

bench() { log "$BENCH $*"; $BENCH "$@" "${port_opt[@]}" --out "$out" | grep '^|' >&2 || true; }
port_opt=()

IFS=, read -r fa_s fa_k fa_r <<<"$fa"
IFS=, read -r fb_s fb_k fb_r <<<"$fb"
IFS=, read -r max_s max_k <<<"$maxsc"
IFS=, read -r st_s st_k st_r <<<"$storm"
common=(--warmup-seconds "$warm")

bash bench/peers/upstream.sh start
IFS=, read -ra tlist <<<"$targets"
(( plain )) || tlist=()
for t in "${tlist[@]:+${tlist[@]}}"; do
  log "=== $t"
  port_opt=()
  [[ "$t" == edge ]] && port_opt=(--port "$EDGE_PORT")
  [[ "$t" == nchan ]] && port_opt=(--port "$NCHAN_PORT")
  case "$t" in
    edge) start_edges 1; pids=$(IFS=,; echo "${EDGE_PIDS[*]}") ;;
    nchan) bash bench/peers/nchan.sh start; pids=$(bash bench/peers/nchan.sh pid) ;;
    pushpin) bash bench/peers/pushpin.sh start; pids=$(bash bench/peers/pushpin.sh pid) ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  sleep 1
  # Right after a start with one warm-up round: for the edge this includes the JIT's
  # optimizing pass over the hot code (see bench/README.md). Then a fresh start for the rest.
  bench hold --target "$t" --pid "$pids" --label hold-cold --warmup-rounds 1 --streams "$hold" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
  case "$t" in
    edge) stop_edges; start_edges 1; pids=$(IFS=,; echo "${EDGE_PIDS[*]}") ;;
    *) bash bench/peers/$t.sh stop; sleep 1; bash bench/peers/$t.sh start; pids=$(bash bench/peers/$t.sh pid) ;;
  esac
  sleep 1
  bench hold --target "$t" --pid "$pids" --label hold --streams "$hold" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
  # The same burst again on the same process.
  bench hold --target "$t" --pid "$pids" --label hold-again --streams "$hold" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
  bench fanout --target "$t" --pid "$pids" --label fanout-a --subs "$fa_s" --channels "$fa_k" --rate "$fa_r" --seconds "$seconds" "${common[@]}"
  bench fanout --target "$t" --pid "$pids" --label fanout-b --subs "$fb_s" --channels "$fb_k" --rate "$fb_r" --seconds "$seconds" "${common[@]}"
  bench fanout --target "$t" --pid "$pids" --label fanout-max --step --subs "$max_s" --channels "$max_k" --rates "$maxrates" --seconds "$max_seconds" "${common[@]}"
  bench storm --target "$t" --pid "$pids" --label storm --subs "$st_s" --channels "$st_k" --rate "$st_r" --seconds "$storm_seconds" --cuts "$cuts"
  case "$t" in
    edge) stop_edges ;;
    *) bash bench/peers/$t.sh stop ;;
  esac
  sleep 2
done

proxy_plain=$proxy
(( plain )) || { proxy_plain=0; large=0; }
if (( proxy_plain )); then
  log "=== proxy (wrk -t$wrk_t -c$wrk_c -d${wrk_d}s, $wrk_rounds alternating round(s), medians)"
  bash bench/peers/nginx-proxy.sh start
  # shellcheck disable=SC2086
  edge_args_saved=$edge_args; edge_args="$edge_args $proxy_edge_args"
  start_edges 1
  edge_args=$edge_args_saved
  start_bare_yarp
  urls="upstream=$UPSTREAM_URL/proxy-test,nginx=http://127.0.0.1:$PROXY_PORT/proxy-test"
  urls+=",bare-yarp=http://127.0.0.1:$BARE_YARP_PORT/proxy-test,edge=http://127.0.0.1:$EDGE_PORT/proxy-test"
  # Warm-up, not recorded: two alternating passes at full load, so both .NET processes have
  # finished tiered compilation of the hot path before the first measured round.
  for _ in 1 2; do
    for u in "http://127.0.0.1:$BARE_YARP_PORT/proxy-test" "http://127.0.0.1:$EDGE_PORT/proxy-test" "http://127.0.0.1:$PROXY_PORT/proxy-test"; do
      wrk "-t$wrk_t" "-c$wrk_c" -d3s "$u" >/dev/null 2>&1 || true
    done
  done
  port_opt=()
  bench proxy --label proxy --threads "$wrk_t" --connections "$wrk_c" --duration "$wrk_d" --rounds "$wrk_rounds" --urls "$urls" \
    --target-pids "upstream=$(bash bench/peers/upstream.sh pid),nginx=$(bash bench/peers/nginx-proxy.sh pid),bare-yarp=$BARE_YARP_PID,edge=${EDGE_PIDS[0]}"
  stop_bare_yarp
  stop_edges
  bash bench/peers/nginx-proxy.sh stop
fi

if (( large > 0 )); then
  log "=== large hold: $large streams, edge on $edge_procs process(es)"
  port_opt=(--port "$EDGE_PORT")
  if start_edges "$edge_procs"; then
    pids=$(IFS=,; echo "${EDGE_PIDS[*]}")
    bench hold --target edge --pid "$pids" --label hold-multi --streams "$large" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
    stop_edges
  else
    log "the $large-stream edge measurement cannot run yet: $edge_procs edge processes could not share port $EDGE_PORT (Edge:ReusePort missing?)"
    echo "{\"mode\":\"hold\",\"label\":\"hold-multi\",\"target\":\"edge\",\"streams\":$large,\"error\":\"edge processes could not share the port (Edge:ReusePort not supported yet?)\"}" >> "$out"
  fi
  workers=$(( (large + 17999) / 18000 )); (( workers < 2 )) && workers=2
  port_opt=(--port "$NCHAN_PORT")
  NCHAN_WORKERS=$workers bash bench/peers/nchan.sh start
  bench hold --target nchan --pid "$(bash bench/peers/nchan.sh pid)" --label hold-multi --streams "$large" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
  bash bench/peers/nchan.sh stop
fi

if (( tls )); then
  # One certificate for the run, used by every server (see /work/shared/PLATFORM.md, TLS and HTTP/2).
  tls_dir="$RUN_DIR/tls"; mkdir -p "$tls_dir"
  TLS_CERT=$tls_dir/cert.pem; TLS_KEY=$tls_dir/key.pem
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS_KEY" -out "$TLS_CERT" -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  log "=== TLS: certificate $TLS_CERT (RSA 2048, self-signed); TLS 1.2+1.3 on every server"
  # The edge's TLS, in one place: its own Edge:Tls section (the path users configure), on a second
  # address of Edge:Urls next to the plain one the publisher uses; TLS 1.2 and 1.3 are its default.
  EDGE_TLS_ARGS=(
    "--Edge:Urls=http://127.0.0.1:$EDGE_PORT;https://127.0.0.1:$EDGE_TLS_PORT"
    "--Edge:Tls:Certificates:bench:Path=$TLS_CERT"
    "--Edge:Tls:Certificates:bench:KeyPath=$TLS_KEY"
  )
  IFS=, read -r h2_c h2_s <<<"$tls_h2"
  IFS=, read -r tf_s tf_k tf_r <<<"$tls_fa"
  nchan_tls() { NCHAN_TLS_PORT=$NCHAN_TLS_PORT_RUN NCHAN_TLS_CERT=$TLS_CERT NCHAN_TLS_KEY=$TLS_KEY bash bench/peers/nchan.sh "$@"; }
  IFS=, read -ra tls_list <<<"$tls_targets"
  port_opt=()
  for t in "${tls_list[@]:+${tls_list[@]}}"; do
    log "=== $t over TLS"
    case "$t" in
      edge) tls_port=$EDGE_TLS_PORT; plain_port=$EDGE_PORT
            start_tls_target() { start_edges 1 "${EDGE_TLS_ARGS[@]}"; wait_port "$EDGE_TLS_PORT" 30; pids=$(IFS=,; echo "${EDGE_PIDS[*]}"); }
            stop_tls_target() { stop_edges; } ;;
      nchan) tls_port=$NCHAN_TLS_PORT_RUN; plain_port=$NCHAN_PORT
            start_tls_target() { nchan_tls start; pids=$(nchan_tls pid); }
            stop_tls_target() { nchan_tls stop; } ;;
      *) echo "no TLS rows for $t (edge and nchan only)" >&2; exit 2 ;;
    esac
    tls_opt=(--tls --port "$tls_port" --publish-port "$plain_port")
    start_tls_target; sleep 1
    bench hold --target "$t" --pid "$pids" --label tls-hold "${tls_opt[@]}" --streams "$tls_hold" --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
    # HTTP/2 on a fresh process too: nginx and the .NET GC keep memory they once used.
    stop_tls_target; sleep 1; start_tls_target; sleep 1
    bench hold --target "$t" --pid "$pids" --label h2-hold "${tls_opt[@]}" --http2 --streams-per-connection "$h2_s" --streams $((h2_c * h2_s)) --channels "$hold_ch" --settle "$settle" --hold-seconds "$holdsec"
    bench fanout --target "$t" --pid "$pids" --label tls-fanout "${tls_opt[@]}" --subs "$tf_s" --channels "$tf_k" --rate "$tf_r" --seconds "$seconds" "${common[@]}"
    stop_tls_target
    sleep 2
  done
  if (( proxy )); then
    log "=== proxy over TLS (wrk -t$wrk_t -c$wrk_c -d${wrk_d}s, $wrk_rounds alternating round(s), medians)"
    bash bench/peers/nginx-proxy.sh stop >/dev/null 2>&1 || true
    PROXY_TLS_PORT=$PROXY_TLS_PORT_RUN PROXY_TLS_CERT=$TLS_CERT PROXY_TLS_KEY=$TLS_KEY bash bench/peers/nginx-proxy.sh start
    start_edges 1 "${EDGE_TLS_ARGS[@]}" $proxy_edge_args
    wait_port "$EDGE_TLS_PORT" 30
    turls=("https://127.0.0.1:$PROXY_TLS_PORT_RUN/proxy-test" "https://127.0.0.1:$EDGE_TLS_PORT/proxy-test")
    for _ in 1 2; do
      for u in "${turls[@]}"; do wrk "-t$wrk_t" "-c$wrk_c" -d3s "$u" >/dev/null 2>&1 || true; done
    done
    bench proxy --label proxy-tls --threads "$wrk_t" --connections "$wrk_c" --duration "$wrk_d" --rounds "$wrk_rounds" \
      --urls "nginx=${turls[0]},edge=${turls[1]}" \
      --target-pids "nginx=$(bash bench/peers/nginx-proxy.sh pid),edge=${EDGE_PIDS[0]}"
    stop_edges
    bash bench/peers/nginx-proxy.sh stop
  fi
fi

{
  echo "Command: \`$cmdline\` — $(date -u '+%Y-%m-%d %H:%M UTC'), raw lines: \`$out\`"
  echo
  $BENCH report --in "$out"
} | tee "$table"
