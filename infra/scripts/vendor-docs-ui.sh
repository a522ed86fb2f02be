#!/usr/bin/env bash
# Re-vendors the documentation pages' JavaScript and CSS into functions/assets/docs/ from the
# npm registry, at the pinned versions below (the files are committed; the functions embed them
# gzip-compressed, so GET /docs and /redocs work offline, with no CDN).
#
#   infra/scripts/vendor-docs-ui.sh     fetch, check, copy; then review `git diff --stat`
#
# Each tarball's SHA-512 (the registry's published integrity, in hex) is checked, so a
# republished or tampered package is refused. To upgrade: change a version, run this with the
# hash check failing, compare the printed hash with `npm view <pkg>@<version> dist.integrity`,
# update the hash, run again.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=$(cd "$SCRIPT_DIR/../.." && pwd)/functions/assets/docs

SWAGGER_SPEC="swagger-ui-dist@5.35.0"
SWAGGER_SHA512="534eaba4cb56f55dd73c638179a993512af4674f63317e0826e00da44fc465b021c341bc0a0c2bcd4e18997927fe1d3008336c5dd19aad334d1c2dec53cc9551"
# Redoc 2.x, as GAME (FastAPI) serves: a third of 3.x's size, and no telemetry to switch off.
REDOC_SPEC="redoc@2.5.4"
REDOC_SHA512="33a8d6846d6aa019c7e93166cc99ecb72099f3b1e6398fd4cc39bbf261e262284476557f61c4bda203a8d4d94496724c78bb32c4715edb215ce2c3631d3ac005"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # <npm spec> <sha512 hex> <dir>
  mkdir -p "$tmp/$3"
  (cd "$tmp/$3" && npm pack "$1" --silent >/dev/null)
  local tgz=("$tmp/$3"/*.tgz) sum
  sum=$(sha512sum "${tgz[0]}" | cut -d' ' -f1)
  [[ $sum == "$2" ]] || { echo "vendor-docs-ui.sh: $1 checksum mismatch (sha512 $sum)" >&2; exit 1; }
  tar xzf "${tgz[0]}" -C "$tmp/$3"
}

fetch "$SWAGGER_SPEC" "$SWAGGER_SHA512" swagger
fetch "$REDOC_SPEC" "$REDOC_SHA512" redoc
sw=$tmp/swagger/package
rd=$tmp/redoc/package
# Only what the pages load (no source maps, no standalone preset, no ES-module builds).
cp "$sw/swagger-ui-bundle.js" "$sw/swagger-ui-bundle.js.LICENSE.txt" "$sw/swagger-ui.css" "$DEST/"
cp "$sw/LICENSE" "$DEST/swagger-ui-dist.LICENSE"
cp "$sw/NOTICE" "$DEST/swagger-ui-dist.NOTICE"
cp "$rd/bundles/redoc.standalone.js" "$rd/bundles/redoc.standalone.js.LICENSE.txt" "$DEST/"
cp "$rd/LICENSE" "$DEST/redoc.LICENSE"
echo "vendored $SWAGGER_SPEC and $REDOC_SPEC into $DEST" >&2
