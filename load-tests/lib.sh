# Shared by bench.sh and faults.sh: the release binaries, a work directory cleaned up on exit,
# servers started on free ports. Source it from the repository's root.

BIN=${BIN:-$PWD/target/release/okienko}
LOAD=$PWD/target/release/okienko-load

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_ready HOST NAME: until /readyz answers 200 (30 s at most).
wait_ready() {
  for _ in $(seq 1 300); do
    if curl -fsS "$1/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server $2 did not start:" >&2
  cat "$work/$2.log" >&2
  exit 1
}

# start_server NAME [DATABASE_URL] [VAR=value …]: serves the tenants of $TENANTS ($work/tenants
# unless set) with the server $BIN from $work/NAME on a free port (the same port again when PORT
# is set); sets SERVER_PID and HOST.
start_server() {
  local name=$1 url=${2:-} port=${PORT:-$(port_of)}
  shift $(($# < 2 ? $# : 2))
  mkdir -p "$work/$name"
  env -u OKIENKO_DEV -u OKIENKO_NOW -u OKIENKO_RATE_LIMITS \
    OKIENKO_DATA_DIR="$work/$name" OKIENKO_LISTEN="127.0.0.1:$port" \
    OKIENKO_POLICIES="${TENANTS:-$work/tenants}" OKIENKO_TRUSTED_PROXIES=127.0.0.1 \
    RUST_LOG=warn ${url:+DATABASE_URL="$url"} "$@" \
    "$BIN" serve >>"$work/$name.log" 2>&1 &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  HOST="http://127.0.0.1:$port"
  wait_ready "$HOST" "$name"
}

rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
