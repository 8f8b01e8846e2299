# Shell functions shared by scripts/install-deps.sh and
# scripts/install-bench-deps.sh. The sourcing script sets `deps` (the .deps
# folder) and `log_prefix` (the name printed before each message).

# install_apt_packages PACKAGE...: installs those not yet installed, with sudo
# when not root.
install_apt_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$log_prefix: installing Debian packages: ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

# fetch_npm NAME VERSION SHA256: downloads the tarball with `npm pack` (which
# runs no package scripts), checks its digest and unpacks it under
# .deps/NAME-VERSION. Skipped when that folder is already complete.
fetch_npm() {
  local name=$1 version=$2 want=$3
  local dir
  dir="$deps/$(echo "$name" | tr '/@' '__')-$version"
  [ -f "$dir/.ok" ] && return 0
  echo "$log_prefix: fetching $name@$version with npm pack"
  local tmp tgz got
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
  tgz=$(ls "$tmp"/*.tgz)
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "$log_prefix: SHA-256 mismatch for $name@$version: expected $want, got $got" >&2
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir"
  rm -rf "$tmp"
  touch "$dir/.ok"
}

# check_file PATH SHA256: stops when a file does not have the pinned digest.
check_file() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$log_prefix: SHA-256 mismatch for $1: expected $2, got $got" >&2
    exit 1
  fi
}
