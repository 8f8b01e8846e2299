#!/usr/bin/env bash
# Proves that Moat sends nothing off the machine and writes no ONNX Runtime
# telemetry files, even when the environment does not disable telemetry.
#
# Usage: zero_egress.sh MOAT_BINARY SOURCE_DIR DEPS_DIR (as ctest runs it)
#
# Runs scripts/demo.sh (keygen, pack, sign, verify, serve, infer, audit prove,
# verify-receipt, verify and query)
# inside an empty network namespace with only loopback up, a fresh HOME, and
# CI and ORT_DISABLE_TELEMETRY removed from the environment, so that only
# moat's own setting can turn telemetry off. strace follows every process and
# thread. The test fails on:
#   - a connect or send to an address outside 127.0.0.0/8 and ::1 that is not
#     a UNIX or netlink socket (netlink messages go to the local kernel);
#   - /tmp/mat-debug-<pid>.log existing for any traced process or thread;
#   - anything under $HOME/.cache/Microsoft;
#   - the demo failing, or the trace missing the client's loopback connection.
# Needs root for `unshare -n`; without it the test fails rather than skips.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 MOAT_BINARY SOURCE_DIR DEPS_DIR" >&2
  exit 1
fi
moat=$1
source_dir=$2
deps=$3

fail() {
  echo "zero_egress: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root, because 'unshare -n' needs it"
for tool in unshare ip strace; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed (Debian packages util-linux, iproute2, strace)"
done
unshare -n true 2>/dev/null || fail "'unshare -n' does not work here, so no empty network namespace can be made"
[ -x "$moat" ] || fail "moat binary '$moat' not found or not executable"
[ -f "$source_dir/scripts/demo.sh" ] || fail "'$source_dir/scripts/demo.sh' not found"

work=$(mktemp -d)
home=$(mktemp -d)
keep_work=0
cleanup() {
  if [ "$keep_work" -eq 0 ]; then
    rm -rf "$work" "$home"
  else
    echo "zero_egress: files kept in $work and HOME $home" >&2
  fi
}
trap cleanup EXIT

trace="$work/trace.log"
output="$work/demo.out"
status=0
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -n -- bash -c 'ip link set lo up && exec "$@"' zero_egress \
  env -u CI -u ORT_DISABLE_TELEMETRY HOME="$home" MOAT_DEMO_DIR="$work/demo" \
  strace -f -qq -e trace=%network,%process -o "$trace" \
  bash "$source_dir/scripts/demo.sh" "$moat" "$deps" >"$output" 2>&1 || status=$?

problems=()
if [ "$status" -ne 0 ]; then
  problems+=("the demo exited with status $status")
fi
grep -q '^text regions: [0-9]' "$output" || problems+=("the demo printed no 'text regions:' line")
grep -q '^audit log .*: verified' "$output" || problems+=("the demo printed no 'audit log ...: verified' line")
grep -q '^receipt verified: ' "$output" || problems+=("the demo printed no 'receipt verified:' line")
[ -s "$trace" ] || problems+=("strace wrote no trace to $trace")

# destination_allowed TEXT: TEXT starts at a "sa_family=" of a socket address.
destination_allowed() {
  local text=$1
  case $text in
    sa_family=AF_UNIX* | sa_family=AF_NETLINK* | sa_family=AF_UNSPEC*) return 0 ;;
    sa_family=AF_INET,*)
      [[ $text =~ ^sa_family=AF_INET,[^}]*sin_addr=inet_addr\(\"127\.[0-9.]+\"\) ]] && return 0 ;;
    sa_family=AF_INET6*)
      [[ $text =~ ^sa_family=AF_INET6[^}]*inet_pton\(AF_INET6,\ \"(::1|::ffff:127\.[0-9.]+)\" ]] && return 0 ;;
  esac
  return 1
}

loopback_connects=0
violations=()
while IFS= read -r line; do
  # Addresses that a connect or send names: the first after connect( and each
  # msg_name of sendmsg and sendmmsg; for sendto the destination comes last.
  addresses=()
  if [[ $line =~ [[:space:]]connect\([0-9]+,\ \{(sa_family=.*) ]]; then
    addresses+=("${BASH_REMATCH[1]}")
  elif [[ $line =~ [[:space:]]sendto\( ]]; then
    [[ $line == *"{sa_family="* ]] && addresses+=("sa_family=${line##*\{sa_family=}")
  elif [[ $line =~ [[:space:]]sendm{1,2}sg\( ]]; then
    rest=$line
    while [[ $rest == *"msg_name={sa_family="* ]]; do
      rest=${rest#*msg_name=\{}
      addresses+=("$rest")
    done
  fi
  for address in "${addresses[@]}"; do
    if destination_allowed "$address"; then
      [[ $line == *connect\(* && $address == sa_family=AF_INET,*127.0.0.1* ]] && loopback_connects=$((loopback_connects + 1))
    else
      violations+=("$line")
    fi
  done
done < <(grep -E '[[:space:]](connect|sendto|sendmsg|sendmmsg)\(' "$trace" || true)

if [ "${#violations[@]}" -gt 0 ]; then
  problems+=("${#violations[@]} connect or send calls to addresses other than loopback:")
  for line in "${violations[@]}"; do problems+=("    $line"); done
fi
[ "$loopback_connects" -gt 0 ] || problems+=("the trace holds no connect to 127.0.0.1, so the client was not traced")

# Every process and thread id that strace saw, to look for telemetry logs.
telemetry_files=()
while IFS= read -r pid; do
  [ -e "/tmp/mat-debug-$pid.log" ] && telemetry_files+=("/tmp/mat-debug-$pid.log")
done < <(awk '{print $1}' "$trace" | grep -E '^[0-9]+$' | sort -u)
if [ -e "$home/.cache/Microsoft" ]; then
  while IFS= read -r path; do telemetry_files+=("$path"); done < <(find "$home/.cache/Microsoft")
fi
if [ "${#telemetry_files[@]}" -gt 0 ]; then
  problems+=("ONNX Runtime telemetry files were written:")
  for path in "${telemetry_files[@]}"; do problems+=("    $path"); done
fi

if [ "${#problems[@]}" -gt 0 ]; then
  keep_work=1
  echo "zero_egress: FAIL" >&2
  for problem in "${problems[@]}"; do echo "  $problem" >&2; done
  echo "  last lines of the demo output ($output):" >&2
  tail -n 20 "$output" | sed 's/^/    /' >&2
  exit 1
fi

traced_ids=$(awk '{print $1}' "$trace" | sort -u | wc -l)
echo "zero_egress: PASS: $(grep -c . "$trace") traced socket and process calls from $traced_ids processes and threads;" \
  "$loopback_connects connections, all to loopback; no telemetry files"
