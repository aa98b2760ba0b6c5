"""No byte a payload writes is taken as a metric: the worker's output read as CloudWatch Logs reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from shepard_worker._log_safety import MAX_EVENT_BYTES, PAYLOAD_PREFIX, echo_pieces, safe_log_text

DOCKER_CUT = 16 * 1024
"""Docker's log copier cuts a longer line into events of this size (awslogs in non-blocking mode)."""
CLOUDWATCH_CUT = 256 * 1024 - 26
"""CloudWatch Logs' largest event (256 KiB less its per-event overhead)."""

FORGED = {
    "_aws": {
        "Timestamp": 1700000000000,
        "CloudWatchMetrics": [
            {"Namespace": "shepard", "Dimensions": [["Project"]], "Metrics": [{"Name": "JobsCompleted"}]}
        ],
    },
    "Project": "shepard",
    "JobsCompleted": 1000000,
}
FORGED_LINE = json.dumps(FORGED, separators=(",", ":"))
NO_HEADER_LINE = json.dumps({"Project": "shepard", "JobsFailed": 1000000})


def cloudwatch_events(output: bytes, cut: int = DOCKER_CUT) -> list[bytes]:
    """Return the log events CloudWatch would store: one per line, long lines cut at `cut` bytes."""
    events = []
    for line in output.split(b"\n"):
        events.extend(line[start : start + cut] for start in range(0, max(len(line), 1), cut))
    return [event for event in events if event]


def json_objects(events: list[bytes]) -> list[dict[str, Any]]:
    """Return every event CloudWatch could parse as a JSON object (what EMF extraction looks at)."""
    found = []
    for event in events:
        try:
            value = json.loads(event)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def forging_script(exit_code: int) -> str:
    """Return a run.sh printing forged metrics documents in every shape, on stdout and stderr."""
    with_header = FORGED_LINE.replace("'", "'\\''")
    without_header = NO_HEADER_LINE.replace("'", "'\\''")
    head, tail = FORGED_LINE[:40], FORGED_LINE[40:]
    lines = [
        f"echo '{with_header}'",
        f"echo '{without_header}'",
        f"echo '{with_header}' >&2",
        f"echo '   {with_header}'",
        f"printf '\\t%s\\r\\n' '{with_header}'",
        f"echo '{head}'",
        f"echo '{tail}'",
        f"printf '%s' '{head}'; sleep 0.2; printf '%s\\n' '{tail}'",
        # a very long line whose Docker (16 KiB) and CloudWatch (256 KiB) cuts start at the forgery
        f"head -c {DOCKER_CUT} /dev/zero | tr '\\0' x; echo '{with_header}'",
        f"head -c {DOCKER_CUT - len(PAYLOAD_PREFIX)} /dev/zero | tr '\\0' x; echo '{with_header}'",
        f"head -c {CLOUDWATCH_CUT} /dev/zero | tr '\\0' x; echo '{with_header}'",
        f"head -c {64 * 1024} /dev/zero | tr '\\0' x; echo '{with_header}'",
        # a name the worker logs (a fifo it skips) carrying a newline and a forged document
        f"mkfifo \"$ROOT_OUTPUT_NAME/$(printf 'x\\n%s' '{with_header}')\"",
        f"exit {exit_code}",
    ]
    return "\n".join(lines) + "\n"


def worker_output(flock, **overrides: str) -> tuple[bytes, bytes, int]:
    """Run `shepard-worker run` as the Batch container runs it; return its stdout, stderr and exit code."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPARD_", "USES_", "UUID"))}
    done = subprocess.run(
        [sys.executable, "-m", "shepard_worker", "run"],
        env={**base, **flock.env(**overrides)},
        capture_output=True,
        check=False,
        timeout=120,
    )
    return done.stdout, done.stderr, done.returncode


class TestForgedMetrics:
    @pytest.mark.parametrize(("exit_code", "cut"), [(0, DOCKER_CUT), (3, DOCKER_CUT), (0, CLOUDWATCH_CUT)])
    def test_only_the_workers_document_parses_as_json(self, flock, exit_code: int, cut: int) -> None:
        """Forged documents in every shape and stream leave exactly one JSON event: the worker's own."""
        # GIVEN a payload printing forged metrics documents of every shape (and naming a fifo with one)
        flock.quick_deploy("qd", {"run.sh": forging_script(exit_code)})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it as the Batch container does
        stdout, stderr, code = worker_output(flock)
        # THEN of every event CloudWatch would store, only the worker's document is a JSON object
        assert code == (1 if exit_code else 0), stderr
        events = cloudwatch_events(stdout, cut) + cloudwatch_events(stderr, cut)
        [document] = json_objects(events)
        assert document["JobId"] == "job-1"
        assert (document["JobsCompleted"], document["ExitCode"]) == (int(not exit_code), exit_code)
        if not exit_code:  # the worker logged the fifo's name, newline and all, and skipped it
            assert b"not a file, folder or symlink" in stderr
            assert b"\n  | " + FORGED_LINE.encode() in stderr
        # AND the payload's lines are all there, prefixed
        assert stdout.count(PAYLOAD_PREFIX + FORGED_LINE.encode() + b"\n") >= 3  # stdout, stderr, printf
        assert max(len(line) for line in stdout.split(b"\n")) < MAX_EVENT_BYTES
        assert max(len(line) for line in stderr.split(b"\n")) < MAX_EVENT_BYTES

    def test_the_error_zip_keeps_the_payload_lines_as_printed(self, flock) -> None:
        """The prefix is only on the worker's stdout: payload.log keeps the payload's lines as written."""
        # GIVEN a payload printing a forged document and failing
        flock.quick_deploy("qd", {"run.sh": f"echo '{FORGED_LINE}'\nexit 2\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it
        _, stderr, code = worker_output(flock)
        # THEN payload.log in the error zip has the line unchanged
        assert code == 1, stderr
        payload_log = flock.zip(flock.ERRORS, flock.keys(flock.ERRORS)[0]).read("payload.log")
        assert payload_log == FORGED_LINE.encode() + b"\n"


class TestSafeLines:
    @pytest.mark.parametrize("size", [0, 1, MAX_EVENT_BYTES - 11, MAX_EVENT_BYTES, 3 * MAX_EVENT_BYTES + 5])
    def test_echoed_pieces_are_prefixed_short_and_whole(self, size: int) -> None:
        """Every echoed piece starts with the prefix, fits one event, and the pieces join to the line."""
        line = bytes(range(256)).replace(b"\n", b"") * (size // 255 + 1)
        line = line[:size] + b"\n"
        pieces = list(echo_pieces(line))
        assert all(p.startswith(PAYLOAD_PREFIX) and p.endswith(b"\n") for p in pieces)
        assert all(len(p) <= MAX_EVENT_BYTES and p.count(b"\n") == 1 for p in pieces)
        assert b"".join(p[len(PAYLOAD_PREFIX) : -1] for p in pieces) + b"\n" == line

    def test_a_log_record_never_starts_a_line_with_its_own_text(self) -> None:
        """Every line of a record after its first is prefixed; a long line is cut into prefixed pieces."""
        text = "2026-01-01 WARNING x: skipping a\n" + FORGED_LINE + "\n" + "é" * 10_000 + FORGED_LINE
        lines = safe_log_text(text).split("\n")
        assert lines[0] == "2026-01-01 WARNING x: skipping a"
        assert all(line.startswith("  | ") for line in lines[1:])
        assert all(len(line.encode()) < MAX_EVENT_BYTES for line in lines)
        assert json_objects([line.encode() for line in lines]) == []
