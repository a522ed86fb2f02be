#!/usr/bin/env python3
"""Raise DynamoDB Local 1.11.478's TransactWriteItems limit from 10 items to DynamoDB's 100.

That release predates DynamoDB's raise of the limit (10 → 25 → 100 items, 2022); no newer
DynamoDB Local is reachable from this project's package registries. The check is one
`bipush 10` before `if_icmple` in TransactWriteItemsFunction's validation. This writes a copy of
that one class with 100 in its place into <out_dir>, which stack.sh puts before the jar on the
classpath; the jar itself is untouched. Everything else about transactions (all or nothing,
cancellation reasons, conditions) is DynamoDB Local's own code. A class with another checksum
is refused, so a different jar can never be patched blindly.

usage: ddb-transaction-limit.py <DynamoDBLocal.jar> <out_dir>
"""
import hashlib
import os
import sys
import zipfile

CLASS = "com/amazonaws/services/dynamodbv2/local/shared/access/api/dp/TransactWriteItemsFunction.class"
ORIGINAL_SHA256 = "828bab0c5b0929676fdbb5417243fa15e1d266482bf467e5c3884583cd8834a3"
# invokeinterface List.size (#66), bipush 10, if_icmple +16
CHECK = bytes.fromhex("b9004201" "00" "100a" "a40010")
LIMIT = 100


def main(jar: str, out_dir: str) -> None:
    with zipfile.ZipFile(jar) as archive:
        original = archive.read(CLASS)
    digest = hashlib.sha256(original).hexdigest()
    if digest != ORIGINAL_SHA256:
        sys.exit(f"{CLASS} has sha256 {digest}, not DynamoDB Local 1.11.478's: not patching")
    if original.count(CHECK) != 1:
        sys.exit("the transaction-size check was not found exactly once: not patching")
    at = original.index(CHECK) + 5
    patched = original[:at] + bytes([0x10, LIMIT]) + original[at + 2 :]
    target = os.path.join(out_dir, CLASS)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as out:
        out.write(patched)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
