#!/usr/bin/env bash
# The benchmark of issue 6 (SPEC P-7): every figure below is measured in this one run, on this
# machine, against the release binary, load only to 127.0.0.1.
#
#   1. cached availability throughput ÷ `{ __typename }` throughput on the same server (SQLite),
#      64 connections, with p50/p99; the same for the citizens' day page of a service (issue 13),
#      and the bytes of its HTML and CSS;
#   2. the scenarios: browsing mix, release burst (5,000 clients, 200 seats; on SQLite and on
#      PostgreSQL), steady booking, an abusive client at 1,000 requests/s beside polite ones;
#   3. booking throughput on PostgreSQL ÷ pgbench's insert TPS on the same database;
#   4. each server's peak RSS (VmHWM);
#   5. unless BENCH_UNCACHED=0: the uncached 60-day availability at 1,000,000 stored bookings
#      (criterion, services/app/benches/availability.rs).
#
# Usage: load-tests/bench.sh            (about 10 minutes after the release build)
# Settings: DURATION (s per throughput run, 20), CONNS (64), PGURL (postgres://postgres@127.0.0.1:5432),
#           BENCH_UNCACHED (1).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=okienko_bench

cargo build --release --locked -q -p okienko -p okienko-load
. load-tests/lib.sh

# The five demo cities and the load tests' city, side by side.
mkdir -p "$work/tenants"
for d in policies/*/ load-tests/tenants/*/; do ln -s "$PWD/$d" "$work/tenants/$(basename "$d")"; done

field() { awk -v k="$2" '$1 == "RESULT" && $2 == k { print $'"$3"' }' "$1"; }

echo "# okienko benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git rev-parse --short HEAD)"
echo

echo "## SQLite server (embedded default), rate limits on"
start_server sqlite
SQLITE_PID=$SERVER_PID
"$LOAD" --host "$HOST" throughput typename --users "$CONNS" --run-time "$DURATION" | tee "$work/typename.txt"
"$LOAD" --host "$HOST" throughput availability --users "$CONNS" --run-time "$DURATION" | tee "$work/availability.txt"
"$LOAD" --host "$HOST" throughput day-page --users "$CONNS" --run-time "$DURATION" | tee "$work/day-page.txt"
"$LOAD" --host "$HOST" browse --users 32 --run-time "$DURATION" | tee "$work/browse.txt"
"$LOAD" --host "$HOST" burst | tee "$work/burst-sqlite.txt"
"$LOAD" --host "$HOST" steady --users 16 --run-time "$DURATION" | tee "$work/steady.txt"
"$LOAD" --host "$HOST" abuse --polite 32 --run-time "$DURATION" | tee "$work/abuse.txt"
SQLITE_RSS=$(rss_mb "$SQLITE_PID")
kill "$SQLITE_PID"

echo
echo "## PostgreSQL server, database $BENCH_DB (dropped and created anew)"
psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
start_server postgres "$PGURL/$BENCH_DB"
PG_PID=$SERVER_PID
# No ANALYZE here, whatever autovacuum does: the store's queries must keep a good plan on
# tables without statistics (issue 16), as a fresh deployment has them.
echo "(autovacuum on this server: $(psql -At "$PGURL/$BENCH_DB" -c 'SHOW autovacuum'); no ANALYZE is run)"
"$LOAD" --host "$HOST" burst | tee "$work/burst-postgres.txt"
"$LOAD" --host "$HOST" throughput book --users "$CONNS" --run-time "$DURATION" | tee "$work/book.txt"
PG_RSS=$(rss_mb "$PG_PID")
kill "$PG_PID"

# pgbench: single-row inserts into a table of the same database, same connections and time.
psql -q "$PGURL/$BENCH_DB" -c "CREATE TABLE IF NOT EXISTS bench_insert (
  id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now())"
echo "INSERT INTO bench_insert (tenant_id, payload) VALUES (1, 'okienko');" >"$work/insert.sql"
pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -f "$work/insert.sql" "$PGURL/$BENCH_DB" | tee "$work/pgbench.txt"
PGBENCH_TPS=$(awk '/^tps/ { print $3; exit }' "$work/pgbench.txt")

TYPENAME_RPS=$(field "$work/typename.txt" typename 4)
AVAIL_RPS=$(field "$work/availability.txt" availability 4)
DAY_RPS=$(field "$work/day-page.txt" day-page 4)
BOOK_RPS=$(field "$work/book.txt" createBooking 4)

echo
echo "## Summary"
python3 - "$TYPENAME_RPS" "$AVAIL_RPS" "$BOOK_RPS" "$PGBENCH_TPS" "$SQLITE_RSS" "$PG_RSS" "$DAY_RPS" <<'EOF'
import sys
t, a, b, p, rs, rp, d = (float(x) for x in sys.argv[1:])
print(f"cached availability {a:.0f}/s ÷ {{ __typename }} {t:.0f}/s = {a / t:.2f} (target ≥ 0.70)")
print(f"day page {d:.0f}/s ÷ {{ __typename }} {t:.0f}/s = {d / t:.2f} (target ≥ 0.5, p99 ≤ 20 ms)")
print(f"PostgreSQL bookings {b:.0f}/s ÷ pgbench inserts {p:.0f} TPS = {b / p:.2f}")
print(f"peak RSS: SQLite server {rs:.1f} MB, PostgreSQL server {rp:.1f} MB (target ≤ 150 MB)")
EOF
grep -h "^RESULT" "$work"/typename.txt "$work"/availability.txt "$work"/day-page.txt "$work"/book.txt |
  awk '{ printf "%-14s p50 %.2f ms, p99 %.2f ms at '"$CONNS"' connections\n", $2, $5, $6 }'
grep -h "^BURST\|^ABUSE" "$work"/burst-*.txt "$work"/abuse.txt

if [ "${BENCH_UNCACHED:-1}" != 0 ]; then
  echo
  echo "## Uncached availability, 60 days, 1,000,000 bookings stored (criterion)"
  OKIENKO_BENCH_SIZES=1000000 cargo bench -q -p okienko-app --bench availability 2>/dev/null |
    grep -E "availability|time:" || true
fi
