#!/usr/bin/env bash
# Instructions per request of the gateway, counted by callgrind: repeatable whatever else the
# machine is doing, unlike the timings of run.sh. Builds the release binaries, starts the mock
# upstream, a rotel collector (from tests/.venv) and the gateway under callgrind with one worker,
# sends warm-up requests, then counts N sequential requests on one keep-alive connection for each
# scenario (chat, streamed chat, streamed chat translated from Anthropic, chat with a 30 KB
# conversation), all of the gateway's threads included (span export and the analytics log too).
#
#   benches/instructions.sh [N]       (N = 1000; needs valgrind and curl)
#
# CARGO_TARGET_DIR and ROTEL (the rotel-agent binary) are honoured, so that another checkout can
# be counted the same way for a before-and-after.
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000}
cargo build --release --quiet
cargo build --release --quiet -p ai-gateway-benches --bins
BIN=${CARGO_TARGET_DIR:-target}/release
ROTEL=${ROTEL:-$(ls -d tests/.venv/lib/*/site-packages/rotel/rotel-agent 2>/dev/null | head -1)}
[ -x "$ROTEL" ] || { echo "needs rotel in tests/.venv (cargo test -p ai-gateway-tests creates it)" >&2; exit 1; }
DIR=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq "${2:-100}"); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "port $1 never opened" >&2; exit 1; }
MOCK=$(port); OTLP=$(port); GRPC=$(port); PROXY=$(port); ADMIN=$(port)
"$BIN/mock" --listen "127.0.0.1:$MOCK" --chunks 20 --delay-ms 0 --workers 1 >/dev/null 2>&1 &
PIDS="$PIDS $!"
"$ROTEL" start --otlp-http-endpoint "127.0.0.1:$OTLP" --otlp-grpc-endpoint "127.0.0.1:$GRPC" \
  --exporter blackhole --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port "$MOCK"; wait_port "$OTLP"
U="http://127.0.0.1:$MOCK"
route() { # name provider header key options
  printf '{"name":"%s","paths":["/%s"],"strip_path":true,"plugins":[{"name":"ai-proxy","config":{"route_type":"llm/v1/chat","auth":{"header_name":"%s","header_value":"%s"},"model":{"provider":"%s","options":%s},"logging":{"log_statistics":true}}}]}' \
    "$1" "$1" "$3" "$4" "$2" "$5"
}
cat > "$DIR/gateway.yaml" <<EOF
{"_format_version":"3.0","services":[{"name":"bench","url":"$U","routes":[
$(route openai openai Authorization "Bearer sk-bench" "{\"upstream_url\":\"$U\"}"),
$(route anthropic anthropic x-api-key sk-ant-bench "{\"upstream_url\":\"$U\",\"anthropic_version\":\"2023-06-01\",\"max_tokens\":256}")
]}]}
EOF
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP" AI_GATEWAY_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.%p" \
  "$BIN/ai-gateway" serve --workers 1 --config "$DIR/gateway.yaml" \
  --listen "127.0.0.1:$PROXY" --admin-listen "127.0.0.1:$ADMIN" \
  --analytics-log "$DIR/analytics.jsonl" >"$DIR/gateway.log" 2>&1 &
GATEWAY=$!
PIDS="$GATEWAY $PIDS"
# Under callgrind, start-up (loading the provider modules) takes a while.
wait_port "$PROXY" 900
CHAT='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain in a few sentences."}]}'
STREAM='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain in a few sentences."}]}'
# N requests on one connection: curl reuses it for every URL of one command line.
send() { # path body count
  urls=""
  for _ in $(seq "$3"); do urls="$urls http://127.0.0.1:$PROXY$1"; done
  # shellcheck disable=SC2086
  curl -sf -H 'Content-Type: application/json' -d "$2" $urls >/dev/null
}
count() { # label path body
  send "$2" "$3" 200
  sleep 6 # the warm-up's spans go out (the export batches every 5 s at most)
  callgrind_control -z "$GATEWAY" >/dev/null
  send "$2" "$3" "$N"
  sleep 6
  callgrind_control -d "$GATEWAY" >/dev/null
  sleep 1
  dump=$(ls -t "$DIR"/callgrind.*.* | head -1)
  total=$(awk '/^summary:/ {print $2}' "$dump")
  echo "$1: $((total / N)) instructions per request"
  rm -f "$dump"
}
count "chat (openai)" /openai/v1/chat/completions "$CHAT"
count "chat stream (openai, 20 chunks)" /openai/v1/chat/completions "$STREAM"
count "chat stream (anthropic upstream, translated)" /anthropic/v1/chat/completions "$STREAM"
# 40 turns of about 750 characters: what a long conversation sends, where the body's size, not the
# gateway's fixed work, decides the cost.
LONG=$(python3 -c '
import json
turns = [{"role": "system", "content": "You are a helpful assistant."}]
for i in range(40):
    turns.append({"role": ["user", "assistant"][i % 2], "content": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 9})
print(json.dumps({"model": "gpt-4o-mini", "messages": turns}, separators=(",", ":")))')
count "chat, 30 KB conversation (openai)" /openai/v1/chat/completions "$LONG"
