"""The scheduling core: read and validate a job's inputs, write its row once, submit its Batch job once."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    MAX_INPUTS_BYTES,
    Attr,
    InputsError,
    JobRow,
    JobStatus,
    UnusablePathError,
    api_rejection_report_key,
    input_zip_file_name,
    iso_now,
    job_id_for_api_request,
    job_id_for_s3_object,
    parse_inputs,
    rejection_report_key,
    ttl_after_days,
)
from shepard_zipindex import (
    ObjectChangedError,
    ObjectNotFoundError,
    ReadFailedError,
    S3RangeReader,
    ZipIndex,
    ZipIndexError,
)

from shepard_scheduler._outcome import JobInFlightError, Outcome, OutcomeKind
from shepard_scheduler._rows import LEASE, JobTable, text_attribute

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_batch.type_defs import KeyValuePairTypeDef
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from shepard_scheduler._config import SchedulerConfig

_REPORTED_PAYLOAD_CHARS: Final = MAX_INPUTS_BYTES


@dataclasses.dataclass(frozen=True, kw_only=True)
class S3ObjectRef:
    """One uploaded job zip, as an S3 event notification names it (key already URL-decoded)."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def job_id(self) -> str:
        """Return the job UUID of this object version (the same object always gives the same UUID)."""
        return job_id_for_s3_object(
            self.bucket, self.key, version_id=self.version_id, etag=self.etag, sequencer=self.sequencer
        )


class _RejectedError(Exception):
    """A job is invalid; `code` names the problem and the message says what to fix."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class _Report:
    """Where a rejection report goes, and what it says besides the reason."""

    key: str
    details: dict[str, object]


class _GoneError(Exception):
    """The object version an event names no longer exists (deleted or replaced): there is no job."""


class Scheduler:
    """Schedules jobs from uploaded zips or endpoint payloads; safe to call again with the same job."""

    def __init__(
        self,
        config: SchedulerConfig,
        *,
        s3_client: S3Client,
        dynamodb_client: DynamoDBClient,
        batch_client: BatchClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Act on the resources `config` names through the given clients; `clock` gives epoch seconds."""
        self._config = config
        self._s3 = s3_client
        self._batch = batch_client
        self._table = JobTable(dynamodb_client, config.table_name)
        self._clock = clock

    def schedule_s3_object(self, ref: S3ObjectRef, *, deadline: float) -> Outcome:
        """Schedule the job zip `ref`, or reject it with a row and a report.

        `deadline` (epoch seconds) is when this invocation is certain to be over: until then no other
        invocation may submit the same job.
        """
        job_id = ref.job_id
        try:
            inputs = self._read_inputs(ref)
        except _GoneError as gone:
            reason = f"{gone}; a replacement upload is scheduled by its own event"
            return Outcome(kind=OutcomeKind.IGNORED, job_id=job_id, reason=reason)
        except _RejectedError as rejection:
            report = _Report(
                key=rejection_report_key(ref.key),
                details={"inputs_bucket": ref.bucket, "etag": ref.etag, "version_id": ref.version_id},
            )
            return self._reject(job_id, rejection, report, input_zip_name=ref.key, is_invoked=False)
        return self._admit(job_id, inputs, input_zip_name=ref.key, is_invoked=False, deadline=deadline)

    def schedule_api_request(self, payload: bytes, *, request_id: str, deadline: float) -> Outcome:
        """Schedule the job a batching-endpoint request asks for, or reject it with a row and a report.

        `payload` is the JSON object of inputs, validated exactly like inputs.txt; `request_id`
        identifies the request, so a retried invocation is the same job.
        """
        job_id = job_id_for_api_request(request_id)
        try:
            inputs = parse_inputs(payload, source="the request's inputs")
        except InputsError as exc:
            return self.reject_api_request(exc, request_id=request_id, payload=payload)
        return self._admit(job_id, inputs, input_zip_name="", is_invoked=True, deadline=deadline)

    def reject_api_request(self, error: InputsError, *, request_id: str, payload: bytes) -> Outcome:
        """Reject the batching-endpoint request `request_id` for `error`, with a row and a report."""
        job_id = job_id_for_api_request(request_id)
        text = payload.decode("utf-8", errors="replace")
        report = _Report(
            key=api_rejection_report_key(job_id),
            details={
                "request_id": request_id,
                "payload": text[:_REPORTED_PAYLOAD_CHARS],
                "payload_truncated": len(text) > _REPORTED_PAYLOAD_CHARS,
            },
        )
        rejection = _RejectedError(type(error).__name__, str(error))
        return self._reject(job_id, rejection, report, input_zip_name="", is_invoked=True)

    def _read_inputs(self, ref: S3ObjectRef) -> dict[str, str]:
        try:
            input_zip_file_name(ref.key)
        except UnusablePathError as exc:
            raise _RejectedError(type(exc).__name__, str(exc)) from exc
        reader = S3RangeReader(self._s3, ref.bucket, ref.key, version_id=ref.version_id)
        if ref.etag:
            # Pin even the first read to the version the event names, not a newer upload of the key.
            reader.etag = f'"{ref.etag.strip(chr(34))}"'
        try:
            index = ZipIndex.open(reader)
            name = index.find_inputs()
            raw = index.read(name, max_size=MAX_INPUTS_BYTES)
            return parse_inputs(raw)
        except (ObjectNotFoundError, ObjectChangedError) as exc:
            raise _GoneError(str(exc)) from exc
        except ReadFailedError:
            raise
        except (ZipIndexError, InputsError) as exc:
            raise _RejectedError(type(exc).__name__, str(exc)) from exc

    def _admit(
        self, job_id: str, inputs: dict[str, str], *, input_zip_name: str, is_invoked: bool, deadline: float
    ) -> Outcome:
        lease_until_ms = int(deadline * 1000)
        row = JobRow(
            uuid=job_id,
            status=JobStatus.NOT_YET_INITIATED,
            inputs=inputs,
            input_zip_name=input_zip_name,
            is_invoked=is_invoked,
            end_time=ttl_after_days(self._config.days_to_keep_failed_launch_indexes),
        )
        existing = self._table.create(row, lease_until_ms=lease_until_ms)
        resumed = existing is not None
        if existing is not None:
            done = self._already_done(job_id, existing)
            if done is not None:
                return done
            existing = self._table.take_over(
                job_id, lease_until_ms=lease_until_ms, now_ms=int(self._clock() * 1000)
            )
            if existing is not None:
                done = self._already_done(job_id, existing)
                if done is not None:
                    return done
                raise JobInFlightError(job_id, int(text_attribute(existing, LEASE) or 0))
        try:
            batch_job_id = (self._find_submitted(job_id) if resumed else None) or self._submit(
                job_id, input_zip_name=input_zip_name, is_invoked=is_invoked
            )
        except BaseException:
            self._table.release(job_id, lease_until_ms=lease_until_ms)
            raise
        recorded = self._table.record_submission(job_id, batch_job_id=batch_job_id, submit_time=iso_now())
        if recorded is not None and recorded != batch_job_id:
            return Outcome(
                kind=OutcomeKind.DUPLICATE,
                job_id=job_id,
                batch_job_id=recorded,
                reason=f"Batch job {batch_job_id} duplicates {recorded}, which was recorded first",
            )
        return Outcome(kind=OutcomeKind.SCHEDULED, job_id=job_id, batch_job_id=batch_job_id, resumed=resumed)

    @staticmethod
    def _already_done(job_id: str, existing: dict[str, Any]) -> Outcome | None:
        batch_job_id = text_attribute(existing, Attr.BATCH_JOB_ID)
        if batch_job_id is not None:
            return Outcome(kind=OutcomeKind.DUPLICATE, job_id=job_id, batch_job_id=batch_job_id)
        if text_attribute(existing, Attr.JOB_STATUS) == JobStatus.REJECTED.value:
            return Outcome(
                kind=OutcomeKind.DUPLICATE,
                job_id=job_id,
                reason=text_attribute(existing, Attr.REJECTION_REASON),
            )
        return None

    def _find_submitted(self, job_id: str) -> str | None:
        """Return the id of a Batch job already submitted under `job_id` (by an interrupted attempt)."""
        response = self._batch.list_jobs(
            jobQueue=self._config.job_queue, filters=[{"name": "JOB_NAME", "values": [job_id]}]
        )
        for summary in response.get("jobSummaryList", []):
            if summary.get("jobName") == job_id:
                return summary["jobId"]
        return None

    def _submit(self, job_id: str, *, input_zip_name: str, is_invoked: bool) -> str:
        environment: list[KeyValuePairTypeDef] = [{"name": Attr.UUID, "value": job_id}]
        if input_zip_name:
            environment.append({"name": Attr.INPUT_ZIP_NAME, "value": input_zip_name})
        environment.append({"name": Attr.IS_INVOKED, "value": "True" if is_invoked else "False"})
        response = self._batch.submit_job(
            jobName=job_id,
            jobQueue=self._config.job_queue,
            jobDefinition=self._config.job_definition,
            containerOverrides={"environment": environment},
        )
        return response["jobId"]

    def _reject(
        self,
        job_id: str,
        rejection: _RejectedError,
        report: _Report,
        *,
        input_zip_name: str,
        is_invoked: bool,
    ) -> Outcome:
        rejected_at = iso_now()
        row = JobRow(
            uuid=job_id,
            status=JobStatus.REJECTED,
            inputs={},
            input_zip_name=input_zip_name,
            is_invoked=is_invoked,
            end_time=ttl_after_days(self._config.days_to_keep_failed_launch_indexes),
            finish_time=rejected_at,
            rejection_reason=rejection.reason,
        )
        existing = self._table.create(row)
        if existing is not None and text_attribute(existing, Attr.JOB_STATUS) != JobStatus.REJECTED.value:
            # The same job was scheduled before (its zip has since gone): that row stands.
            return Outcome(
                kind=OutcomeKind.DUPLICATE,
                job_id=job_id,
                batch_job_id=text_attribute(existing, Attr.BATCH_JOB_ID),
            )
        document = {
            "uuid": job_id,
            "job_status": JobStatus.REJECTED.value,
            "error": rejection.code,
            "reason": rejection.reason,
            "input_zip_name": input_zip_name,
            "is_invoked": "True" if is_invoked else "False",
            "rejected_at": text_attribute(existing, Attr.FINISH_TIME) if existing else rejected_at,
            **report.details,
        }
        self._s3.put_object(
            Bucket=self._config.errors_bucket,
            Key=report.key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
        )
        return Outcome(
            kind=OutcomeKind.REJECTED if existing is None else OutcomeKind.DUPLICATE,
            job_id=job_id,
            reason=rejection.reason,
            error=rejection.code,
            report_key=report.key,
        )
