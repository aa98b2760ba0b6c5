"""The job row: one DynamoDB item per job, keyed by UUID, holding its inputs and its live state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Final

from shepard_core._keywords import RESERVED_PREFIX
from shepard_core._statuses import JobStatus

PARTITION_KEY: Final = "UUID"
TTL_ATTRIBUTE: Final = "END_TIME"


class Attr:
    """Attribute names of the job row besides the user's own inputs."""

    UUID: Final = "UUID"
    JOB_STATUS: Final = "JOB_STATUS"
    START_TIME: Final = "START_TIME"
    END_TIME: Final = "END_TIME"
    INPUT_ZIP_NAME: Final = "INPUT_ZIP_NAME"
    INPUT_ZIP_VERSION: Final = "SHEPARD_INPUT_ZIP_VERSION"
    """The version id of the upload the job was made from (a versioned inputs bucket): the worker runs it."""
    IS_INVOKED: Final = "IS_INVOKED"
    BATCH_JOB_ID: Final = "SHEPARD_BATCH_JOB_ID"
    SUBMIT_TIME: Final = "SHEPARD_SUBMIT_TIME"
    FINISH_TIME: Final = "SHEPARD_FINISH_TIME"
    REJECTION_REASON: Final = "SHEPARD_REJECTION_REASON"
    FAILURE_REASON: Final = "SHEPARD_FAILURE_REASON"
    """Why a failed job failed, in one line: the worker's reason (its error zip's reason.txt holds the
    same), or Batch's status reason and the container's when Batch ended the job without its worker."""
    ATTEMPT: Final = "SHEPARD_ATTEMPT"
    EXIT_CODE: Final = "SHEPARD_EXIT_CODE"
    INPUT_KEYS: Final = "SHEPARD_INPUT_KEYS"
    SUBMIT_LEASE_UNTIL: Final = "SHEPARD_SUBMIT_LEASE_UNTIL"
    """Epoch milliseconds until which one scheduler invocation alone may submit the row's Batch job."""
    ARRAY_CLAIM: Final = "SHEPARD_ARRAY_CLAIM"
    """The claim token of the array (or plain job) that alone may run this job."""
    ARRAY_INDEX: Final = "SHEPARD_ARRAY_INDEX"
    """The job's child index in that array (absent for a plain job)."""
    MANIFEST_JOBS: Final = "SHEPARD_MANIFEST_JOBS"
    """On a manifest item: the job UUIDs of one chunk of an array, in child-index order."""
    RUN_AGAIN_OF: Final = "SHEPARD_RUN_AGAIN_OF"
    """On a job made by a run-again request: the UUID of the job it runs again."""
    RUN_AGAIN_AS: Final = "SHEPARD_RUN_AGAIN_AS"
    """On a job that was run again: the UUIDs of the jobs that run it again (a string set)."""
    BATCH_END: Final = "SHEPARD_BATCH_END"
    """`<Batch job id>#<attempts>` of the Batch end event that gave the row its final status, when the
    worker could not record one (absent when the worker did)."""


_OWN_ATTRIBUTES: Final = frozenset(
    {
        Attr.UUID,
        Attr.JOB_STATUS,
        Attr.START_TIME,
        Attr.END_TIME,
        Attr.INPUT_ZIP_NAME,
        Attr.IS_INVOKED,
    }
)
_NUMBER_ATTRIBUTES: Final = frozenset({Attr.END_TIME, Attr.ATTEMPT, Attr.EXIT_CODE, Attr.ARRAY_INDEX})


def is_row_attribute(name: str) -> bool:
    """Return whether `name` is one of Shepard's own row attributes rather than a user input."""
    return name in _OWN_ATTRIBUTES or name.startswith(RESERVED_PREFIX)


def ttl_after_days(days: int, now: datetime | None = None) -> int:
    """Return the END_TIME (epoch seconds, DynamoDB TTL) `days` after `now`."""
    now = datetime.now(UTC) if now is None else now
    return int((now + timedelta(days=days)).timestamp())


def iso_now() -> str:
    """Return the current UTC time as ISO 8601 with seconds, for the row's timestamps."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


AttributeValue = dict[str, str | list[str]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobRow:
    """One job's DynamoDB item, in Python terms."""

    uuid: str
    status: JobStatus
    inputs: dict[str, str]
    input_zip_name: str
    is_invoked: bool
    end_time: int
    start_time: str | None = None
    submit_time: str | None = None
    finish_time: str | None = None
    batch_job_id: str | None = None
    rejection_reason: str | None = None
    failure_reason: str | None = None
    attempt: int | None = None
    exit_code: int | None = None
    array_claim: str | None = None
    array_index: int | None = None
    input_zip_version: str | None = None
    batch_end: str | None = None
    run_again_of: str | None = None
    run_again_as: tuple[str, ...] = ()
    """The UUIDs of the jobs that run this one again, sorted."""

    @property
    def reason(self) -> str | None:
        """Return why the job did not succeed as the row records it: its rejection or its failure reason."""
        return self.rejection_reason or self.failure_reason

    def to_item(self) -> dict[str, AttributeValue]:
        """Return the row in DynamoDB's low-level attribute-value form (for the client API)."""
        item: dict[str, AttributeValue] = {key: {"S": value} for key, value in self.inputs.items()}
        own: dict[str, str | int | None] = {
            Attr.UUID: self.uuid,
            Attr.JOB_STATUS: self.status.value,
            Attr.INPUT_ZIP_NAME: self.input_zip_name,
            Attr.INPUT_ZIP_VERSION: self.input_zip_version,
            Attr.IS_INVOKED: "True" if self.is_invoked else "False",
            Attr.END_TIME: self.end_time,
            Attr.START_TIME: self.start_time,
            Attr.SUBMIT_TIME: self.submit_time,
            Attr.FINISH_TIME: self.finish_time,
            Attr.BATCH_JOB_ID: self.batch_job_id,
            Attr.REJECTION_REASON: self.rejection_reason,
            Attr.FAILURE_REASON: self.failure_reason,
            Attr.ATTEMPT: self.attempt,
            Attr.EXIT_CODE: self.exit_code,
            Attr.ARRAY_CLAIM: self.array_claim,
            Attr.ARRAY_INDEX: self.array_index,
            Attr.BATCH_END: self.batch_end,
            Attr.RUN_AGAIN_OF: self.run_again_of,
        }
        for name, value in own.items():
            if value is None:
                continue
            item[name] = {"N": str(value)} if name in _NUMBER_ATTRIBUTES else {"S": str(value)}
        if self.inputs:
            item[Attr.INPUT_KEYS] = {"SS": sorted(self.inputs)}
        if self.run_again_as:
            item[Attr.RUN_AGAIN_AS] = {"SS": sorted(self.run_again_as)}
        return item

    @classmethod
    def from_item(cls, item: dict[str, dict[str, object]]) -> JobRow:
        """Build a row from DynamoDB's low-level attribute-value form; unknown attributes are inputs."""

        def text(name: str) -> str | None:
            value = item.get(name)
            if value is None:
                return None
            if "S" in value:
                return str(value["S"])
            if "N" in value:
                return str(value["N"])
            return None

        def number(name: str) -> int | None:
            raw = text(name)
            return None if raw is None else int(float(raw))

        inputs = {
            name: str(value["S"])
            for name, value in item.items()
            if not is_row_attribute(name) and "S" in value
        }
        uuid = text(Attr.UUID)
        status = text(Attr.JOB_STATUS)
        if uuid is None or status is None:
            raise ValueError("a job row needs UUID and JOB_STATUS")
        return cls(
            uuid=uuid,
            status=JobStatus(status),
            inputs=inputs,
            input_zip_name=text(Attr.INPUT_ZIP_NAME) or "",
            is_invoked=text(Attr.IS_INVOKED) == "True",
            end_time=number(Attr.END_TIME) or 0,
            start_time=text(Attr.START_TIME),
            submit_time=text(Attr.SUBMIT_TIME),
            finish_time=text(Attr.FINISH_TIME),
            batch_job_id=text(Attr.BATCH_JOB_ID),
            rejection_reason=text(Attr.REJECTION_REASON),
            failure_reason=text(Attr.FAILURE_REASON),
            attempt=number(Attr.ATTEMPT),
            exit_code=number(Attr.EXIT_CODE),
            array_claim=text(Attr.ARRAY_CLAIM),
            array_index=number(Attr.ARRAY_INDEX),
            input_zip_version=text(Attr.INPUT_ZIP_VERSION),
            batch_end=text(Attr.BATCH_END),
            run_again_of=text(Attr.RUN_AGAIN_OF),
            run_again_as=_string_set(item.get(Attr.RUN_AGAIN_AS)),
        )


def _string_set(value: dict[str, object] | None) -> tuple[str, ...]:
    """Return the strings of a string-set attribute value, sorted; () when there is none."""
    strings = (value or {}).get("SS")
    return tuple(sorted(str(s) for s in strings)) if isinstance(strings, list) else ()
