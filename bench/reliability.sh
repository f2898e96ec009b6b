#!/usr/bin/env bash
# Reliability under faults (issue 16): real edge processes (the Release build of src/Edge) over
# RabbitMQ and Kafka (librdkafka's mock cluster hosted by the tool, or EDGE_KAFKA_BOOTSTRAP), real
# SSE clients, a TCP relay that injects the faults. Every client's sequence is checked per channel
# against what was published (lost, duplicated, out of order) and the time from reconnect to the
# first replayed event is measured. Prints one table; raw JSON lines go to
# bench/results/reliability-<UTC time>.jsonl; one "SCENARIO PASS|FAIL name" line per scenario.
#
#   bash bench/reliability.sh            # the issue's scale as far as 2 cores allow
#   bash bench/reliability.sh --quick    # small scale, what CI runs (scripts/test.sh)
#
# Options: --skip-build, --scenarios 1,2,..., --brokers rabbitmq,kafka, --clients N, --seconds T.
# Ports: 19100-19199 (edges), relays on ephemeral loopback ports. Exit code 1 when a scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1; quick=0; extra=()
while (( $# )); do
  case "$1" in
    --quick) quick=1 ;;
    --skip-build) build=0 ;;
    --scenarios|--brokers|--clients|--seconds) extra+=("$1" "$2"); shift ;;
    *) echo "unknown option $1 (see the head of bench/reliability.sh)" >&2; exit 2 ;;
  esac
  shift
done

if (( build )); then
  echo "[reliability] building the edge and the reliability tool (Release)" >&2
  dotnet build src/Edge -c Release -nologo -v q >&2
  dotnet build bench/Edge.Reliability -c Release -nologo -v q >&2
fi
if [[ -z "${EDGE_RABBITMQ_URI:-}" ]]; then
  EDGE_RABBITMQ_URI=$(bash scripts/rabbitmq.sh | tail -n 1)
  export EDGE_RABBITMQ_URI
fi
ulimit -n 20000 2>/dev/null || echo "[reliability] could not raise the open-files limit (now $(ulimit -n))" >&2

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
out="bench/results/reliability-$stamp.jsonl"
work="bench/.run/reliability-$stamp"
mkdir -p "$work"
args=(run --root "$PWD" --work "$work" --out "$out")
(( quick )) && args+=(--quick)
set +e
dotnet bench/Edge.Reliability/bin/Release/net10.0/Edge.Reliability.dll "${args[@]}" "${extra[@]}"
status=$?
set -e

# Scenario 6, fuzzing: the seeded property tests (CsCheck) of the envelope parser, the cursor
# parser, the SSE frame encoder and the configuration, a bounded run with the corpus in
# tests/Brokers/Edge.Brokers.Tests/Corpus/.
if [[ " ${extra[*]:-} " != *" --scenarios "* ]]; then
  fuzz_log="$work/fuzz.log"
  fuzz_status=0
  for p in tests/Brokers/Edge.Brokers.Tests tests/Edge.Tests; do
    (( build )) && dotnet build "$p" -c Release -nologo -v q >&2
    dotnet test "$p" -c Release --no-build --filter "FullyQualifiedName~PropertyTests" >>"$fuzz_log" 2>&1 || fuzz_status=1
  done
  counts=$(grep -oE "Passed: +[0-9]+" "$fuzz_log" | grep -oE "[0-9]+" | paste -sd+ | bc)
  verdict=PASS; (( fuzz_status == 0 )) || { verdict=FAIL; status=1; }
  echo "| 6 fuzzing | - | seeded property tests (CsCheck), corpus in tests/Brokers/Edge.Brokers.Tests/Corpus | ${counts:-0} properties passed | | log $fuzz_log | $verdict |"
  echo "{\"scenario\":\"6 fuzzing\",\"result\":\"$verdict\",\"properties_passed\":${counts:-0}}" >> "$out"
  echo "SCENARIO $verdict 6 fuzzing"
fi
echo "[reliability] edge logs in $work" >&2
exit $status
