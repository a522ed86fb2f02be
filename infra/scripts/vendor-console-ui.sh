#!/usr/bin/env bash
# Re-vendors the admin console's charting library (uPlot) into functions/assets/console/ from
# the npm registry, at the pinned version below. The files are committed and embedded
# gzip-compressed in the console functions (functions/build.rs), so /admin needs no CDN and the
# tests need no build step. The console's own files (console.html, console.js, console.css) are
# written by hand, not built.
#
#   infra/scripts/vendor-console-ui.sh     fetch, check, copy; then review `git diff --stat`
#
# The tarball's SHA-512 (the registry's published integrity, in hex) is checked, so a
# republished or tampered package is refused. To upgrade: change the version, run this with the
# hash check failing, compare the printed hash with `npm view uplot@<version> dist.integrity`,
# update the hash, run again.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=$(cd "$SCRIPT_DIR/../.." && pwd)/functions/assets/console

UPLOT_SPEC="uplot@1.6.32"
UPLOT_SHA512="2883159c6ebccefbb95d751b0b82d010f9e1c0ec41b8bc96d401eda66e882935c89a46cb824332fa369b8cb8122cc6ac36e186cd09bf7a9ded3a4c93c6989023"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack "$UPLOT_SPEC" --silent >/dev/null)
tgz=("$tmp"/*.tgz)
sum=$(sha512sum "${tgz[0]}" | cut -d' ' -f1)
[[ $sum == "$UPLOT_SHA512" ]] || { echo "vendor-console-ui.sh: $UPLOT_SPEC checksum mismatch (sha512 $sum)" >&2; exit 1; }
tar xzf "${tgz[0]}" -C "$tmp"
# Only what the page loads: the minified IIFE build and its stylesheet.
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$DEST/"
cp "$tmp/package/LICENSE" "$DEST/uPlot.LICENSE"
echo "vendored $UPLOT_SPEC into $DEST" >&2
