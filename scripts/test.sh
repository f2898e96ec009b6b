#!/usr/bin/env bash
# Runs every test of the repository: installs and starts what the tests need (RabbitMQ,
# chromium and docker-compose from Debian's packages, playwright-core from npm; Kafka tests use librdkafka's
# built-in mock cluster), restores, builds and
# tests the solution, then runs `bash bench/reliability.sh --quick` (each reliability scenario counts
# as one test), and ends with one line "N passed, N failed, N skipped" from the TRX results and the
# scenarios. Extra arguments go to `dotnet test` (e.g. --filter "Category=RabbitMq"); with extra
# arguments, or EDGE_SKIP_RELIABILITY=1, the reliability scenarios are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -z "${EDGE_RABBITMQ_URI:-}" ]; then
  EDGE_RABBITMQ_URI=$(bash scripts/rabbitmq.sh | tail -n 1) || { echo "could not start RabbitMQ"; echo "0 passed, 1 failed"; exit 1; }
  export EDGE_RABBITMQ_URI
fi

bash scripts/kafka-tools.sh || { echo "could not install kcat"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/compose.sh
bash scripts/browser.sh || { echo "could not install the browser test tools"; echo "0 passed, 1 failed"; exit 1; }

dotnet restore Edge.sln || { echo "0 passed, 1 failed"; exit 1; }
dotnet build Edge.sln -c Release --no-restore || { echo "0 passed, 1 failed"; exit 1; }

results=".test-results"
rm -rf "$results"
dotnet test Edge.sln -c Release --no-build --logger "trx" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done

if [ "$files" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
  # The runner failed without reporting a failed test (a crash, a build problem): count it.
  failed=$((failed + 1))
fi

# Reliability under faults: each scenario's "SCENARIO PASS|FAIL|SKIP ..." line counts as one test.
if [ $# -eq 0 ] && [ "${EDGE_SKIP_RELIABILITY:-0}" != 1 ]; then
  rel_log=$(mktemp)
  bash bench/reliability.sh --quick --skip-build 2>&1 | tee "$rel_log"
  rel_status=${PIPESTATUS[0]}
  rel_pass=$(grep -c '^SCENARIO PASS' "$rel_log" || true)
  rel_fail=$(grep -c '^SCENARIO FAIL' "$rel_log" || true)
  rel_skip=$(grep -c '^SCENARIO SKIP' "$rel_log" || true)
  passed=$((passed + rel_pass)); failed=$((failed + rel_fail)); skipped=$((skipped + rel_skip))
  if [ "$rel_status" -ne 0 ] && [ "$rel_fail" -eq 0 ]; then
    # The run broke before reporting a failed scenario: count it as one failure.
    failed=$((failed + 1))
    status=1
  fi
  [ "$rel_fail" -eq 0 ] || status=1
  rm -f "$rel_log"
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
