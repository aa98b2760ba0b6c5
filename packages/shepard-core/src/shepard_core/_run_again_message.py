"""The run-again message: a small JSON body on the scheduler's queue naming a job row to submit.

`shepard retry` writes a new job row for a run-again request, then sends this message on the queue that
carries the inputs bucket's upload events; the scheduler claims and submits the row, as it resumes a
row whose upload event was redelivered. The body's `type` carries a version, so a later format can be
told apart; a body whose `type` is not `shepard.run-again.*` is not a run-again message (an S3 event).
"""

from __future__ import annotations

import json
import re
from typing import Final

RUN_AGAIN_MESSAGE_TYPE: Final = "shepard.run-again.v1"
"""The `type` of a run-again message in this format."""

_TYPE_PREFIX: Final = "shepard.run-again."
_JOB_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class RunAgainMessageError(ValueError):
    """A body says it is a run-again message but is not a valid one (unknown version, bad job UUID)."""


def run_again_message(job_uuid: str) -> str:
    """Return the message body asking the scheduler to submit the run-again job row `job_uuid`."""
    if not _JOB_UUID.match(job_uuid):
        raise RunAgainMessageError(f"{job_uuid!r} is not a job UUID")
    return json.dumps({"type": RUN_AGAIN_MESSAGE_TYPE, "job": job_uuid})


def parse_run_again_message(body: object) -> str | None:
    """Return the job UUID a decoded message body asks to submit, or None if it is no run-again message.

    Raises RunAgainMessageError for a body whose `type` names a run-again message it cannot read.
    """
    if not isinstance(body, dict):
        return None
    kind = body.get("type")
    if not isinstance(kind, str) or not kind.startswith(_TYPE_PREFIX):
        return None
    if kind != RUN_AGAIN_MESSAGE_TYPE:
        raise RunAgainMessageError(f"run-again message version {kind!r} is not {RUN_AGAIN_MESSAGE_TYPE!r}")
    extra = sorted(set(body) - {"type", "job"})
    if extra:
        raise RunAgainMessageError(f"a {kind} message has unknown fields {extra}")
    job = body.get("job")
    if not isinstance(job, str) or not _JOB_UUID.match(job):
        raise RunAgainMessageError(f"a {kind} message's job {job!r} is not a job UUID")
    return job
