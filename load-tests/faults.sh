#!/usr/bin/env bash
# Issue 11's targets, measured in one run on this machine against the release binary; all load
# goes to loopback addresses (127.0.0.x) and every loop is bounded in time or count.
#
#   1. A victim's p50/p99 (`{ services }` from 127.0.0.4) alone, beside 130 half-sent bodies
#      from 127.0.0.2, and beside 20,000 display WebSocket attempts from 127.0.0.3; the
#      server's peak RSS.
#   2. Dąbrowa Górnicza's createBooking p50/p95 (8 connections) while 32 connections book in
#      Opole, whose policy is each hostile script of load-tests/hostile in turn, against the same
#      run with the harmless refusing one.
#   3. kill -9 during a booking burst, on SQLite and on PostgreSQL: every acknowledged booking
#      stored, and the seconds from the restart until its e-mail was delivered.
#
# Usage: load-tests/faults.sh      (about 6 minutes after the release build)
# Settings: DURATION (s per run, 15), PGURL (postgres://postgres@127.0.0.1:5432), ONLY (1, 2 or 3).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
ONLY=${ONLY:-}
FAULTS_DB=okienko_faults
# The attackers hold tens of thousands of sockets.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --locked -q -p okienko -p okienko-load
. load-tests/lib.sh
mkdir -p "$work/tenants"
for d in policies/*/; do ln -s "$PWD/$d" "$work/tenants/$(basename "$d")"; done
NO_LIMITS=(OKIENKO_DEV=1 OKIENKO_RATE_LIMITS=off)

echo "# okienko faults, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git rev-parse --short HEAD), open files $(ulimit -n)"

if [ -z "$ONLY" ] || [ "$ONLY" = 1 ]; then
  echo
  echo "## 1. Slow bodies and WebSocket floods from one address, a victim at another (SQLite)"
  start_server attack "" "${NO_LIMITS[@]}"
  "$LOAD" --host "$HOST" --tenant gdynia faults victim --run-time "$DURATION" | sed 's/^RESULT victim/RESULT victim-alone/'
  "$LOAD" --host "$HOST" --tenant gdynia faults slow-bodies --count 130 --run-time $((DURATION + 4)) &
  attacker=$!
  sleep 2
  "$LOAD" --host "$HOST" --tenant gdynia faults victim --run-time "$DURATION" | sed 's/^RESULT victim/RESULT victim-slow-bodies/'
  wait "$attacker"
  "$LOAD" --host "$HOST" --tenant gdynia faults websockets --attempts 20000 &
  attacker=$!
  sleep 2
  "$LOAD" --host "$HOST" --tenant gdynia faults victim --run-time "$DURATION" | sed 's/^RESULT victim/RESULT victim-websockets/'
  wait "$attacker"
  echo "RSS peak of the server: $(rss_mb "$SERVER_PID") MB"
  kill "$SERVER_PID"
fi

if [ -z "$ONLY" ] || [ "$ONLY" = 2 ]; then
  echo
  echo "## 2. Hostile policies in Opole, bookings in Dąbrowa Górnicza (SQLite)"
  for script in refusing endless-loop huge-string deep-recursion nested-arrays expensive-host-calls identity-flood; do
    name=policy-$script
    mkdir -p "$work/$name"
    OKIENKO_DATA_DIR="$work/$name" RUST_LOG=warn "$BIN" tenants import "$work/tenants" >/dev/null
    OKIENKO_DATA_DIR="$work/$name" RUST_LOG=warn "$BIN" policy activate opole "load-tests/hostile/$script/policy.rhai" --author faults >/dev/null
    start_server "$name" "" "${NO_LIMITS[@]}"
    "$LOAD" --host "$HOST" --tenant opole faults book --service zaswiadczenie --consents rodo,komunikacja_elektroniczna --conns 32 --run-time $((DURATION + 4)) >"$work/$name-opole.txt" &
    hostile=$!
    sleep 2
    "$LOAD" --host "$HOST" --tenant dabrowa-gornicza faults book --service rejestracja-dzialalnosci --conns 8 --run-time "$DURATION" |
      sed "s/^RESULT book dabrowa-gornicza/RESULT dabrowa-beside-$script/"
    wait "$hostile"
    sed "s/^RESULT book opole/RESULT opole-$script/" "$work/$name-opole.txt"
    kill "$SERVER_PID"
  done
fi

# crash NAME [DATABASE_URL]: a booking burst, kill -9 in its middle, a restart on the same data,
# then the seconds until every acknowledged booking's e-mail is delivered.
crash() {
  local name=$1 url=${2:-} codes="$work/$1-codes.txt" port
  port=$(port_of)
  : >"$codes"
  PORT=$port start_server "$name" "$url" "${NO_LIMITS[@]}"
  "$LOAD" --host "$HOST" --tenant dabrowa-gornicza faults book --service rejestracja-dzialalnosci --conns 16 --run-time 6 --codes "$codes" >"$work/$name-burst.txt" 2>&1 &
  local burst=$!
  sleep 1
  kill -9 "$SERVER_PID"
  wait "$burst" || true
  local acked pending
  acked=$(sort -u "$codes" | wc -l)
  local q="SELECT COUNT(*) || ' unsent, ' || COUNT(claimed_until) || ' of them claimed' FROM outbox WHERE status = 'pending'"
  case "$url" in
    postgres*) pending=$(psql -At "$url" -c "$q") ;;
    *) pending=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$work/$name/okienko.db" "$q") ;;
  esac
  local restarted_at
  PORT=$port start_server "$name" "$url" "${NO_LIMITS[@]}"
  restarted_at=$(date +%s.%N)
  local missing=1 waited=0
  while [ "$(echo "$waited < 120" | bc)" = 1 ]; do
    missing=$(python3 - "$codes" "$work/$name/mail" <<'PY'
import os, sys
codes = {l.strip() for l in open(sys.argv[1]) if l.strip()}
mail = sys.argv[2]
text = ""
if os.path.isdir(mail):
    for f in os.listdir(mail):
        if f.endswith(".eml"):
            text += open(os.path.join(mail, f), errors="replace").read()
print(sum(1 for c in codes if c not in text))
PY
)
    [ "$missing" = 0 ] && break
    sleep 0.5
    waited=$(echo "$(date +%s.%N) - $restarted_at" | bc)
  done
  local stored
  case "$url" in
    postgres*) psql -At "$url" -c "SELECT code FROM bookings" >"$work/$name-stored.txt" ;;
    *) python3 -c 'import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT code FROM bookings")]' \
         "$work/$name/okienko.db" >"$work/$name-stored.txt" ;;
  esac
  stored=$(sort -u "$codes" | grep -cxFf "$work/$name-stored.txt" || true)
  echo "CRASH $name: $acked bookings acknowledged before kill -9, $stored of them stored after the restart; messages at the kill: $pending; e-mails of acknowledged bookings missing $missing, all delivered $(printf '%.1f' "$waited") s after the restart was ready"
  grep -h "taken_back\|due again" "$work/$name.log" | tail -1 || true
  kill "$SERVER_PID"
}

if [ -z "$ONLY" ] || [ "$ONLY" = 3 ]; then
  echo
  echo "## 3. kill -9 during a booking burst"
  crash crash-sqlite
  psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $FAULTS_DB" -c "CREATE DATABASE $FAULTS_DB"
  crash crash-postgres "$PGURL/$FAULTS_DB"
fi
