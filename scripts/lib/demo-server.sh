# Sourced by the scripts that test against a running demo server (Schemathesis, the browser
# test): builds it, starts it with a fresh data directory on a random port of 127.0.0.1 and
# waits for /health. Sets `work` (a temporary directory, removed on exit), `port`, `pid`
# and `server_log` for the server it started last (a script may start several: all are
# stopped on exit); `demo_token ROLE` and `demo_link ROLE` read what that demo printed.
# Arguments go to fieldline-demo (e.g. --leads 40).

demo_pids=()
demo_works=()

start_demo_server() {
  cargo build --locked --quiet -p fieldline-demo
  local target_dir server
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  server="$target_dir/debug/fieldline-demo"
  work="$(mktemp -d)"
  server_log="$work/server.log"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  pid=""
  trap 'stop_demo_server' EXIT
  FIELDLINE_DATA_DIR="$work/data" FIELDLINE_LISTEN="127.0.0.1:$port" \
    FIELDLINE_AUTH__JWT_SECRET="test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
    FIELDLINE_LOG__FILTER=warn \
    "$server" "$@" >"$server_log" 2>&1 &
  pid=$!
  demo_pids+=("$pid")
  demo_works+=("$work")
  # Seeding a large demo (thousands of deals) takes a while before the server listens.
  for _ in $(seq 1 900); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/health" >/dev/null || { cat "$server_log" >&2; exit 1; }
}

stop_demo_server() {
  local p w
  for p in "${demo_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # A server stops gracefully and may still be working through its rules' backlog (a large
  # demo right after seeding): give it five seconds, then stop it hard.
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${demo_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${demo_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for w in "${demo_works[@]}"; do rm -rf "$w"; done
  # A caller's own clean-up (e.g. a capture sidecar it started), run with the server's.
  if declare -F on_demo_stop >/dev/null; then on_demo_stop; fi
}

demo_token() {
  local token
  token="$(awk -v r="$1" '$1 == r { print $3 }' "$server_log")"
  [ -n "$token" ] || { echo "no $1 token in the demo's output" >&2; exit 1; }
  echo "$token"
}

demo_link() {
  local link
  link="$(awk -v r="link-$1" '$1 == r { print $2 }' "$server_log")"
  [ -n "$link" ] || { echo "no $1 sign-in link in the demo's output" >&2; exit 1; }
  echo "$link"
}
