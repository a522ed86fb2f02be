#!/usr/bin/env python3
"""Runs the README's walk-through against a running `make dev` and checks the outputs it shows.

    python3 infra/scripts/walkthrough-check.py        # at the repository root, make dev running

It takes the ```sh blocks of the README's "Walk-through" section, runs their commands in order in
one bash (so GAME_ID and the keys carry over; GAME_DEV_PORT is honoured as in the README), and
compares each command's output with the `# ...` lines right under it: every `"key":value` shown
must be in the output (a text value cut with `...`, or an id, is checked up to the cut), and
every other shown line (`HTTP/1.1 200 OK`, `idempotent-replayed: true`) must appear in it.
Comment lines after a blank line are prose, not output. The walk-through creates `city-walks`,
so it needs a fresh table: `make stack-stop`, then `make dev`. Exits 1 on any difference.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAIR = re.compile(r'"([A-Za-z_]+)":(\[|\{|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')


def walkthrough_commands(readme: str):
    """(command, expected output lines) in order."""
    start = readme.index("## Walk-through")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end > 0 else None]
    steps = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        command, last = [], None
        for line in block.splitlines():
            if command:
                command.append(line)
                if not line.endswith("\\"):
                    steps.append(["\n".join(command), []])
                    command, last = [], steps[-1]
                continue
            if line.startswith("#"):
                if last is not None:
                    last[1].append(line[1:].strip())
                continue
            if not line.strip():
                last = None
                continue
            command = [line]
            if not line.endswith("\\"):
                steps.append([line, []])
                command, last = [], steps[-1]
    return steps


def mismatches(expected_lines, actual: str):
    """What the shown output promises and the actual output lacks."""
    missing = []
    for line in expected_lines:
        line = re.sub(r"\s+\([^)]*\)$", "", line).strip()  # a trailing "(note)"
        if not line or line == "...":
            continue
        pairs = PAIR.findall(line)
        if not pairs:
            if UUID.fullmatch(line):
                if not UUID.search(actual):
                    missing.append("an id")
            elif line.lower() not in actual.lower():
                missing.append(line)
            continue
        for key, value in pairs:
            if value.startswith('"') and ("..." in value or UUID.search(value)):
                shown = value[1:].split("...")[0]
                shown = re.sub(r"[0-9a-f-]+$", "", UUID.sub("", shown))
                wanted = f'"{key}":"{shown}'
            elif value in "[{":
                wanted = f'"{key}":{value}'
            else:
                wanted = f'"{key}":{value}'
            if wanted not in actual:
                missing.append(wanted)
    return missing


def main() -> int:
    steps = walkthrough_commands((REPO / "README.md").read_text())
    script = ["set -u", f"cd {str(REPO)!r}"]
    for index, (command, _) in enumerate(steps):
        script += [f"printf '\\n@@step {index}@@\\n'", command]
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)], capture_output=True, text=True, timeout=300
    )
    outputs = re.split(r"\n@@step \d+@@\n", "\n" + run.stdout)[1:]
    failed = 0
    for index, (command, expected) in enumerate(steps):
        actual = outputs[index] if index < len(outputs) else ""
        missing = mismatches(expected, actual) if expected else []
        first = command.splitlines()[0]
        if missing:
            failed += 1
            print(f"FAIL  {first}\n      missing: {missing}\n      output: {actual.strip()[:600]}")
        else:
            print(f"ok    {first}" + ("" if expected else "   (no output shown)"))
    if len(outputs) < len(steps):
        failed += 1
        print(f"the walk-through stopped after {len(outputs)} of {len(steps)} steps")
    if failed:
        if run.stderr.strip():
            print("stderr:\n" + run.stderr.strip()[-2000:])
        print(
            f"\n{failed} step(s) differ from the README. The walk-through needs make dev running on a "
            "fresh table (city-walks must not exist yet): make stack-stop, then make dev."
        )
        return 1
    print(f"\nall {len(steps)} steps of the README walk-through match their shown output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
