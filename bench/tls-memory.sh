#!/usr/bin/env bash
# Where an idle stream's memory goes in the edge, per way in (see bench/README.md, "Where a TLS
# stream's memory goes"). For each configuration: a fresh edge, a warm-up (100 streams, twice), then
# N idle streams held by bench/Edge.Bench; before and after, with the streams open:
#   rss      VmRSS of the edge process (what the hold mode reports)
#   gc       the GC's heap size and committed bytes (GC.GetGCMemoryInfo via /_edge/metrics.json)
#   malloc   glibc's bytes in use and bytes taken from the system, all arenas (malloc_stats() called
#            in the edge through gdb; OpenSSL allocates with malloc)
# and the live managed objects by type (dotnet-gcdump: a full, blocking collection) before and after;
# "before" is read after that first collection, so the tool's own memory is in the baseline.
# The TLS configurations use the edge's own TLS (Edge:Urls https:// with Edge:Tls), where
# Edge:Tls:ReleaseIdleBuffers applies (on by default; tls-keep turns it off).
#
#   bash bench/tls-memory.sh [--streams 2000] [--h2 200,10] [--configs fast,kestrel,tls,tls-keep,h2] [--out DIR]
#
# Configurations: fast (plaintext, the fast path), kestrel (plaintext, --Edge:DirectStreams=false),
# tls (HTTP/1.1 over TLS), tls-keep (the same with --Edge:Tls:ReleaseIdleBuffers=false),
# tls-kestrel (tls with --Edge:DirectStreams=false), h2 (HTTP/2 over TLS, C connections x S streams).
# A configuration may be named more than once (tls,tls-keep,tls,tls-keep: alternating rounds).
# Needs gdb (Debian) and dotnet-gcdump (`dotnet tool install --tool-path DIR dotnet-gcdump`; DIR on PATH
# or in DOTNET_TOOLS). Ports: MEM_PORT (29080) in clear, MEM_TLS_PORT (29443). Loopback only; the
# edge and the load tool are stopped by pid at the end of each configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peers/lib.sh
streams=2000; h2="200,10"; configs="fast,kestrel,tls,tls-keep,tls-kestrel,h2"; outdir="$RUN_DIR/tls-memory"
while (( $# )); do
  case "$1" in
    --streams) streams=$2; shift ;;
    --h2) h2=$2; shift ;;
    --configs) configs=$2; shift ;;
    --out) outdir=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PORT=${MEM_PORT:-29080}; TLS_PORT=${MEM_TLS_PORT:-29443}
export PATH="$PATH:${DOTNET_TOOLS:-$HOME/.dotnet/tools}"
BENCH="dotnet bench/Edge.Bench/bin/Release/net10.0/Edge.Bench.dll"
EDGE_DLL=src/Edge/bin/Release/net10.0/Edge.dll
mkdir -p "$outdir"
ulimit -n 20000 2>/dev/null || true
cert=$outdir/cert.pem; key=$outdir/key.pem
[[ -s $cert ]] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$key" -out "$cert" -days 30 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
TLS_ARGS=("--Edge:Urls=http://127.0.0.1:$PORT;https://127.0.0.1:$TLS_PORT"
  --Edge:Tls:Certificates:bench:Path=$cert --Edge:Tls:Certificates:bench:KeyPath=$key)
IFS=, read -r h2_c h2_s <<<"$h2"

edge_pid=""; hold_pid=""
finish() {
  [[ -n "$hold_pid" ]] && kill "$hold_pid" 2>/dev/null || true
  [[ -n "$edge_pid" ]] && { kill -TERM "$edge_pid" 2>/dev/null || true; sleep 2; kill -KILL "$edge_pid" 2>/dev/null || true; }
  edge_pid=""; hold_pid=""
}
trap finish EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$edge_pid/status"; }
# gc: "heapBytes committedBytes" from the edge's /_edge/metrics.json.
gc_bytes() {
  curl -s "http://127.0.0.1:$PORT/_edge/metrics.json" | python3 -c 'import json,sys; m=json.load(sys.stdin)["memory"]; print(m["gcHeapBytes"], m["gcCommittedBytes"])'
}
# malloc: "inUse system" summed over glibc's arenas, from malloc_stats() run inside the edge.
malloc_bytes() {
  local log=$1 mark
  mark=$(wc -l < "$log")
  gdb -p "$edge_pid" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || { echo "0 0"; return; }
  sleep 0.5
  tail -n +"$((mark + 1))" "$log" | awk '/^Total \(incl. mmap\):/ {t=1; next} t && /system bytes/ {s=$NF} t && /in use bytes/ {u=$NF; t=0} END {print u+0, s+0}'
}

for cfg in ${configs//,/ }; do
  extra=(); hold_opt=(--port "$PORT"); n=$streams; label=$cfg; listen=$PORT
  case "$cfg" in
    fast) ;;
    kestrel) extra=(--Edge:DirectStreams=false) ;;
    tls) extra=("${TLS_ARGS[@]}"); hold_opt=(--tls --port "$TLS_PORT" --publish-port "$PORT"); listen=$TLS_PORT ;;
    tls-keep) extra=("${TLS_ARGS[@]}" --Edge:Tls:ReleaseIdleBuffers=false); hold_opt=(--tls --port "$TLS_PORT" --publish-port "$PORT"); listen=$TLS_PORT ;;
    tls-kestrel) extra=("${TLS_ARGS[@]}" --Edge:DirectStreams=false); hold_opt=(--tls --port "$TLS_PORT" --publish-port "$PORT"); listen=$TLS_PORT ;;
    h2) extra=("${TLS_ARGS[@]}"); hold_opt=(--tls --http2 --streams-per-connection "$h2_s" --port "$TLS_PORT" --publish-port "$PORT"); n=$((h2_c * h2_s)); listen=$TLS_PORT ;;
    *) echo "unknown configuration $cfg" >&2; exit 2 ;;
  esac
  log_file=$outdir/edge-$cfg.log
  setsid dotnet "$EDGE_DLL" --config bench/edge-bench.json "--Edge:Urls=http://127.0.0.1:$PORT" "${extra[@]}" > "$log_file" 2>&1 < /dev/null &
  edge_pid=$!
  wait_port "$PORT" 60
  [[ "$listen" == "$PORT" ]] || wait_port "$TLS_PORT" 30
  conns=$n; [[ "$cfg" == h2 ]] && conns=$h2_c
  sleep 1
  $BENCH hold --target edge "${hold_opt[@]}" --streams 100 --channels 10 --warmup 100 --warmup-rounds 2 --settle 0 --hold-seconds 0 > /dev/null
  dotnet-gcdump collect -p "$edge_pid" -o "$outdir/$cfg-before.gcdump" > /dev/null 2>&1 || true
  dotnet-gcdump report "$outdir/$cfg-before.gcdump" > "$outdir/$cfg-before.types.txt" 2>/dev/null || true
  sleep 2
  r0=$(rss_kb); read -r g0 c0 <<<"$(gc_bytes)"; read -r m0 s0 <<<"$(malloc_bytes "$log_file")"
  $BENCH hold --target edge "${hold_opt[@]}" --streams "$n" --channels 100 --warmup 0 --settle 1 --hold-seconds 25 --pid "$edge_pid" > "$outdir/hold-$cfg.out" 2>&1 &
  hold_pid=$!
  for _ in $(seq 1 240); do
    open=$(ss -Htn state established "( sport = :$listen )" | wc -l)
    (( open >= conns )) && break
    sleep 0.5
  done
  sleep 3
  r1=$(rss_kb); read -r g1 c1 <<<"$(gc_bytes)"; read -r m1 s1 <<<"$(malloc_bytes "$log_file")"
  dotnet-gcdump collect -p "$edge_pid" -o "$outdir/$cfg.gcdump" > /dev/null 2>&1 || true
  read -r g2 c2 <<<"$(gc_bytes)"; r2=$(rss_kb)
  dotnet-gcdump report "$outdir/$cfg.gcdump" > "$outdir/$cfg.types.txt" 2>/dev/null || true
  wait "$hold_pid" || true; hold_pid=""
  held=$(grep -o 'established [0-9,]*' "$outdir/hold-$cfg.out" | tr -dc '0-9'); held=${held:-$n}
  python3 - "$label" "$held" "$r0" "$r1" "$r2" "$g0" "$g1" "$g2" "$c0" "$c1" "$c2" "$m0" "$m1" "$s0" "$s1" <<'PY' | tee -a "$outdir/summary.txt"
import sys
label, n, r0, r1, r2, g0, g1, g2, c0, c1, c2, m0, m1, s0, s1 = sys.argv[1], *map(int, sys.argv[2:])
n = max(n, 1)
kb = lambda b: b / 1024 / n
print(f"{label:12} streams {n:5}  RSS {(r1 - r0) / n:6.2f} KB/stream (after a full GC {(r2 - r0) / n:6.2f})"
      f" | live managed {kb(g2 - g0):6.2f}, GC committed {kb(c2 - c0):6.2f}"
      f" | malloc in use {kb(m1 - m0):6.2f}, from system {kb(s1 - s0):6.2f} KB/stream")
PY
  finish
  sleep 1
done