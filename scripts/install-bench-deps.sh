#!/usr/bin/env bash
# Installs what the side-by-side benchmark needs on top of install-deps.sh:
# Debian packages for the FastAPI + torch peer and the ResNet-50 export, and
# the pinned onnxruntime-node tarballs for the Node.js peer, each checked
# against a SHA-256 before it is extracted.
# Safe to run again: each step is skipped when its result is already present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"
mkdir -p "$deps"
log_prefix=install-bench-deps
# shellcheck source=lib/install_common.sh
source "$root/scripts/lib/install_common.sh"

# uvicorn uses httptools (HTTP parser) and uvloop (event loop) when they are
# installed, as `pip install uvicorn[standard]` would give a team.
# libopenblas0-pthread replaces the reference BLAS, under which torch's matrix
# operations are much slower.
apt_packages=(
  python3-fastapi python3-uvicorn python3-httptools python3-uvloop
  python3-torch python3-torchvision libopenblas0-pthread
  python3-numpy python3-onnx
)
# Node.js may come from another install than Debian's (NodeSource's bundles
# npm); Debian's packages conflict with those, so they are added only when
# the commands are missing.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

install_apt_packages "${apt_packages[@]}"

# onnxruntime-node 1.29.0 ships its Linux x64 binding and ONNX Runtime 1.29.0
# library inside the tarball, so its postinstall script (which downloads CUDA
# libraries from a NuGet feed) is never needed and never runs. Its dependencies
# adm-zip and global-agent are used only by that script; onnxruntime-common is
# the one it needs at run time.
fetch_npm onnxruntime-node 1.29.0 cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037
fetch_npm onnxruntime-common 1.29.0 9b56a571348dc0e980f939b88989864946148d8500cbd0957534975389a1743b
ort_node_bin="$deps/onnxruntime-node-1.29.0/package/bin/napi-v6/linux/x64"
check_file "$ort_node_bin/onnxruntime_binding.node" d182244fbce3a2398b60e92a65a4a2ee2d399ea73a57928a6482e875b9745e3d
check_file "$ort_node_bin/libonnxruntime.so.1" 89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d

# Node.js resolves `require` through the link's target, and from there finds
# onnxruntime-common in .deps/node_modules, so NODE_PATH=.deps/node_modules is
# all a script needs.
mkdir -p "$deps/node_modules"
ln -sfn ../onnxruntime-node-1.29.0/package "$deps/node_modules/onnxruntime-node"
ln -sfn ../onnxruntime-common-1.29.0/package "$deps/node_modules/onnxruntime-common"

echo "install-bench-deps: all benchmark dependencies present under $deps"
