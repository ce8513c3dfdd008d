# Shell functions the scripts beside this one share; source it (`. "$(dirname "$0")/common.sh"`).

# Node's own build of VERSION for PLATFORM (linux-x64 or linux-arm64) from the npm registry's
# node-PLATFORM package, which carries the headers node-gyp needs; unpacked once into gantry's cache.
# Prints the folder (bin/node is in it); fails, saying so, when the package cannot be fetched.
node_build() {
  local platform=$1 version=$2
  local dir=${GANTRY_CACHE:-$HOME/.cache/gantry}/node-$platform-$version
  if ! [ -x "$dir/bin/node" ]; then
    mkdir -p "$dir"
    local tarball
    tarball=$(cd "$dir" && npm pack --silent "node-$platform@$version") && tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1 && rm "$dir/$tarball" ||
      { echo "could not fetch node-$platform@$version from the npm registry" >&2; rm -rf "$dir"; return 1; }
  fi
  echo "$dir"
}

# Copies the checkout as it is (tracked files and untracked ones git does not ignore) into DIR.
copy_checkout() {
  git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$1"
}
