"""Echo a nox run's output and append each session's wall-clock duration to a file.

Used by .ci/run as `nox ... 2>&1 | python3 scripts/session_durations.py durations.txt`: nox states each
session's time only in words ("in a minute"), so the seconds are measured here, between the line that
starts a session and the line that ends it.
"""

from __future__ import annotations

import re
import sys
import time

STARTS = re.compile(r"^nox > Running session (?P<name>.+)$")
ENDS = re.compile(r"^nox > Session (?P<name>.+?) (?P<outcome>was successful|failed|was skipped|aborted)\b")


def main(durations_path: str) -> None:
    """Copy stdin to stdout line by line; write `<seconds> <outcome> <session>` per ended session."""
    began: dict[str, float] = {}
    with open(durations_path, "a", encoding="utf-8") as durations:  # noqa: PTH123 - a plain path argument
        for line in sys.stdin:
            sys.stdout.write(line)
            sys.stdout.flush()
            text = line.rstrip("\n")
            if started := STARTS.match(text):
                began[started["name"]] = time.monotonic()
            elif ended := ENDS.match(text):
                seconds = time.monotonic() - began.pop(ended["name"], time.monotonic())
                outcome = {"was successful": "success", "was skipped": "skipped"}.get(
                    ended["outcome"], ended["outcome"]
                )
                durations.write(f"{seconds:7.0f} s  {outcome:<10} {ended['name']}\n")
                durations.flush()


if __name__ == "__main__":
    main(sys.argv[1])
