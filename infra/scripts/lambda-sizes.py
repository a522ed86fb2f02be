"""Per-function package sizes: the bootstrap and the zip Lambda receives (deflate, as
`sam deploy` packages it). Prints a Markdown table; exits 1 if a zip exceeds the limit.

  python3 lambda-sizes.py <lambda dir with <binary>/bootstrap> [limit MB, default 5]
"""

import io
import os
import sys
import zipfile

lambda_dir = sys.argv[1]
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
MB = 1024 * 1024
rows, too_big = [], []
for name in sorted(os.listdir(lambda_dir)):
    path = os.path.join(lambda_dir, name, "bootstrap")
    if not os.path.isfile(path):
        continue
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    raw, zipped = os.path.getsize(path), len(buffer.getvalue())
    rows.append((name, raw, zipped))
    if zipped > limit * MB:
        too_big.append(name)
if not rows:
    sys.exit(f"no <binary>/bootstrap under {lambda_dir}")
print("| Function | bootstrap (MB) | zip (MB) |")
print("|---|---:|---:|")
for name, raw, zipped in rows:
    print(f"| {name} | {raw / MB:.2f} | {zipped / MB:.2f} |")
print(f"| **largest** | {max(r[1] for r in rows) / MB:.2f} | {max(r[2] for r in rows) / MB:.2f} |")
if too_big:
    sys.exit(f"over {limit} MB zipped: {', '.join(too_big)}")
