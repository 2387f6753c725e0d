#!/usr/bin/env bash
# Before and after: bench.sh's closed-loop figures for the server built from REV and for this
# checkout, in one sitting, the two taking turns ROUNDS times (the order swapped every round), so
# that whatever else the machine does weighs on both alike. The load client is this checkout's
# for both. Each side serves its own demo cities and load-test city (those of REV for REV).
#
#   SQLite (rate limits on):   throughput typename, availability, and day-page where the side
#                              has the citizens' pages;
#   PostgreSQL (fresh database each run): throughput book.
#
# Prints every run's RESULT line, then per figure the median of the rounds for each side and
# after ÷ before; for this checkout also day-page ÷ typename (issue 13: ≥ 0.5, p99 ≤ 20 ms).
#
# Usage: load-tests/compare.sh REV      e.g. load-tests/compare.sh 608dd6e (before the crate split)
# Settings: ROUNDS (3), DURATION (s per run, 15), CONNS (64), PGURL (postgres://postgres@127.0.0.1:5432).
# REV is built under target/compare (kept, so a second run builds only what changed), unless
# BEFORE_BIN names a server already built from REV.
set -euo pipefail
cd "$(dirname "$0")/.."

REV=${1:?usage: load-tests/compare.sh REV}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
CONNS=${CONNS:-64}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=okienko_compare

cargo build --release --locked -q -p okienko -p okienko-load
src=$PWD/target/compare/src
rm -rf "$src" && mkdir -p "$src"
git archive "$REV" | tar -x -C "$src"
if [ -z "${BEFORE_BIN:-}" ]; then
  (cd "$src" && CARGO_TARGET_DIR="$PWD/.." cargo build --release --locked -q -p okienko)
fi
. load-tests/lib.sh

declare -A bin tenants
bin[before]=${BEFORE_BIN:-$PWD/target/compare/release/okienko}
bin[after]=$PWD/target/release/okienko
for side in before after; do
  root=$([ "$side" = before ] && echo "$src" || echo "$PWD")
  tenants[$side]=$work/tenants-$side
  mkdir -p "${tenants[$side]}"
  for d in "$root"/policies/*/ "$root"/load-tests/tenants/*/; do
    ln -s "$d" "${tenants[$side]}/$(basename "$d")"
  done
done

echo "# before ($(git rev-parse --short "$REV")) and after ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with uncommitted changes')), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $ROUNDS rounds of $DURATION s"

# run SIDE ROUND: one side's runs, their RESULT lines prefixed with the side and round.
run() {
  local side=$1 round=$2 out=$work/$1-$2.txt
  BIN=${bin[$side]} TENANTS=${tenants[$side]} start_server "sqlite-$side-$round"
  for what in typename availability; do
    "$LOAD" --host "$HOST" throughput "$what" --users "$CONNS" --run-time "$DURATION" >>"$out"
  done
  if curl -fsS "$HOST/t/miasto-testowe/" 2>/dev/null | grep -q '<html'; then
    "$LOAD" --host "$HOST" throughput day-page --users "$CONNS" --run-time "$DURATION" >>"$out"
  fi
  kill "$SERVER_PID"
  psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
  BIN=${bin[$side]} TENANTS=${tenants[$side]} start_server "pg-$side-$round" "$PGURL/$BENCH_DB"
  # As in bench.sh: where autovacuum is off, ANALYZE every 5 s stands in for it (the fresh
  # tables' plans otherwise stay those of empty tables).
  local analyse=
  if [ "$(psql -At "$PGURL/$BENCH_DB" -c 'SHOW autovacuum')" = off ]; then
    (while sleep 5; do psql -q "$PGURL/$BENCH_DB" -c ANALYZE 2>/dev/null || true; done) &
    analyse=$!
  fi
  "$LOAD" --host "$HOST" throughput book --users "$CONNS" --run-time "$DURATION" >>"$out"
  [ -n "$analyse" ] && kill "$analyse"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  grep "^RESULT" "$out" | sed "s/^/$side $round /" | tee -a "$work/all.txt"
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run before "$round"; run after "$round"; else run after "$round"; run before "$round"; fi
done

echo
echo "## Medians of $ROUNDS rounds ($CONNS connections)"
python3 - "$work/all.txt" <<'EOF'
import sys, statistics
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    side, _round, _tag, name, _count, rps, p50, p99 = line.split()[:8]
    runs[(side, name)].append((float(rps), float(p50), float(p99)))
def med(side, name, i):
    v = runs.get((side, name))
    return statistics.median(x[i] for x in v) if v else None
print(f"{'figure':<14} {'before/s':>9} {'after/s':>9} {'after÷before':>12}   p50 before→after     p99 before→after")
for name in ["typename", "availability", "day-page", "createBooking"]:
    b, a = med("before", name, 0), med("after", name, 0)
    if a is None:
        continue
    ratio = f"{a / b:.2f}" if b else "—"
    bp50 = f"{med('before', name, 1):.2f}" if b else "—"
    bp99 = f"{med('before', name, 2):.2f}" if b else "—"
    print(f"{name:<14} {b or 0:>9.0f} {a:>9.0f} {ratio:>12}   {bp50:>6} → {med('after', name, 1):.2f} ms   {bp99:>6} → {med('after', name, 2):.2f} ms")
t, d = med("after", "typename", 0), med("after", "day-page", 0)
if t and d:
    print(f"day page {d:.0f}/s ÷ {{ __typename }} {t:.0f}/s = {d / t:.2f} (target ≥ 0.5), day page p99 {med('after', 'day-page', 2):.2f} ms (target ≤ 20)")
EOF
