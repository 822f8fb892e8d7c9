#!/usr/bin/env bash
# Runs `npm ci` and the given test paths on another Node version, in a copy of this checkout
# (its tracked and untracked-but-not-ignored files: no node_modules, no dist), so the
# checkout's own node_modules, built for the Node that runs CI, stay as they are.
#
#   scripts/test-on-node.sh NODE_PACKAGE_DIR [TEST_PATH...]
#   scripts/test-on-node.sh .ci/tools/node_modules/node24 test/unit test/stores
#
# NODE_PACKAGE_DIR is an installed npm package `node` (or an alias of it, as in
# .ci/tools/package.json): its bin/node comes first on PATH, and its headers are
# npm_config_nodedir, so native addons (better-sqlite3) compile against that Node and not
# against the system's. The MCP Inspector suites use the checkout's .ci/tools.
#
# BETTER_SQLITE3=13 runs the tests on that better-sqlite3 instead of the lockfile's (installed
# with --no-save; the lockfile's is then not compiled at all). Node 24.19 and later abort in
# better-sqlite3 12's native Statement destructor (nodejs/node#65446); 13 uses Node-API.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 NODE_PACKAGE_DIR [TEST_PATH...]  (e.g. .ci/tools/node_modules/node24)" >&2
  exit 2
fi
pkg="$(cd "$1" && pwd)"
shift

# The package's bin/node is the binary; the headers are in its platform package beside it.
nodedir=""
for d in "$pkg"/node_modules/node-*/; do
  if [ -f "$d/include/node/node.h" ]; then nodedir="${d%/}"; fi
done
if [ -z "$nodedir" ] || [ ! -x "$pkg/bin/node" ]; then
  echo "error: $pkg has no bin/node and include/node/node.h: is it the npm package node?" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-node-stage-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/src"
ln -s "$pkg/bin/node" "$work/bin/node"
export PATH="$work/bin:$PATH"
export npm_config_nodedir="$nodedir"
echo "node $(node --version) from $pkg; headers from $nodedir; npm $(npm --version)"

copy="$work/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  tar --null -T - --ignore-failed-read -cf -) | tar -xf - -C "$copy"
if [ -d "$root/.ci/tools/node_modules" ]; then
  ln -s "$root/.ci/tools/node_modules" "$copy/.ci/tools/node_modules"
fi
cd "$copy"

start=$SECONDS
if [ -n "${BETTER_SQLITE3:-}" ]; then
  # Install scripts off, so the lockfile's better-sqlite3 is not compiled only to be replaced;
  # then the scripts that matter: esbuild's (tsx), the chosen better-sqlite3's, our prepare.
  npm ci --no-audit --no-fund --prefer-offline --ignore-scripts
  npm rebuild esbuild
  npm install --no-save --no-audit --no-fund --prefer-offline "better-sqlite3@$BETTER_SQLITE3"
  npm run prepare --if-present
else
  npm ci --no-audit --no-fund --prefer-offline
fi
echo "better-sqlite3 $(node -p 'require("better-sqlite3/package.json").version')"
installed=$SECONDS
status=0
node scripts/run-tests.mjs "$@" || status=$?
echo "on node $(node --version): install $((installed - start)) s, tests $((SECONDS - installed)) s"
exit $status
