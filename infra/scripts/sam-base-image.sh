#!/usr/bin/env bash
# Builds a tiny stand-in for the provided.al2023 base image from the host's own shell, coreutils
# and glibc, and `docker import`s it (base images cannot be pulled here; SAM adds its runtime
# interface emulator on top, with a Dockerfile that runs `mv` and `chmod`). The Rust bootstraps
# need only glibc (libc, libm, libgcc_s for unwinding, the loader).
#
#   sam-base-image.sh <image tag> <a bootstrap whose libraries the image must hold>
set -euo pipefail
(($# >= 2)) || { echo "usage: sam-base-image.sh <image tag> <bootstrap>" >&2; exit 2; }
tag=$1 bootstrap=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,tmp,var/task,var/runtime,var/rapid,opt,etc,lib64}
chmod 1777 "$root/tmp"
programs=(sh mv chmod cp rm mkdir cat ls)
for program in "${programs[@]}"; do
  cp -L "$(command -v "$program")" "$root/bin/$program"
done
# Every shared library those programs and the bootstrap load, at the same paths as on the host.
for file in "${programs[@]/#/$root/bin/}" "$bootstrap"; do
  ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# CA certificates, as provided.al2023 has them: the AWS SDK's TLS stack refuses to start
# without a trust store, even when every endpoint it will call is plain HTTP on loopback.
if [[ -d /etc/ssl/certs ]]; then
  mkdir -p "$root/etc/ssl"
  cp -rL /etc/ssl/certs "$root/etc/ssl/certs" 2>/dev/null || true
fi
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' - "$tag" >/dev/null
echo "sam-base-image.sh: imported $tag ($(du -sh "$root" | cut -f1))" >&2
