"""The scheduling core: read and validate a job's inputs, write its row once, submit its Batch job once."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError
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

from shepard_scheduler._array_submitter import Admission, ArraySubmitter, Result
from shepard_scheduler._claims import ClaimTable
from shepard_scheduler._outcome import Outcome, OutcomeKind
from shepard_scheduler._rows import JobRowCreator, text_attribute
from shepard_scheduler._run_again import run_again_admission

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from shepard_scheduler._config import SchedulerConfig

_REPORTED_PAYLOAD_CHARS: Final = MAX_INPUTS_BYTES

READ_CONCURRENCY: Final = 32
"""How many job zips one invocation reads at once (each read is two ranged GETs)."""


def api_job_id(request_id: str, position: int) -> str:
    """Return the job UUID of job number `position` of a batching-endpoint request listing several."""
    return job_id_for_api_request(f"{request_id}#{position}")


def _per_request(job_ids: Sequence[str], results: dict[str, Result]) -> list[Result]:
    """Return each requested job's result in order; a repeat of a scheduled job is its duplicate."""
    seen: set[str] = set()
    ordered: list[Result] = []
    for job_id in job_ids:
        result = results[job_id]
        if job_id in seen and isinstance(result, Outcome) and result.kind is OutcomeKind.SCHEDULED:
            result = Outcome(
                kind=OutcomeKind.DUPLICATE,
                job_id=job_id,
                batch_job_id=result.batch_job_id,
                reason="the same job appears earlier in this request",
            )
        seen.add(job_id)
        ordered.append(result)
    return ordered


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

    @property
    def stored_version(self) -> str | None:
        """Return the object's version id in a versioned bucket, else None (S3 says "null" for none)."""
        return self.version_id if self.version_id and self.version_id != "null" else None


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
    """Schedules jobs from uploaded zips or endpoint payloads; safe to call again with the same jobs."""

    def __init__(  # noqa: PLR0913 - the clients are injected one by one
        self,
        config: SchedulerConfig,
        *,
        s3_client: S3Client,
        dynamodb_client: DynamoDBClient,
        batch_client: BatchClient,
        clock: Callable[[], float] = time.time,
        concurrency: int = READ_CONCURRENCY,
    ) -> None:
        """Act on the resources `config` names through the given clients; `clock` gives epoch seconds.

        `concurrency` bounds the zips read (and rejections filed) at once.
        """
        self._config = config
        self._s3 = s3_client
        self._batch = batch_client
        self._table = JobRowCreator(dynamodb_client, config.table_name)
        self._dynamodb = dynamodb_client
        self._submitter = ArraySubmitter(
            config,
            claims=ClaimTable(dynamodb_client, config.table_name),
            batch_client=batch_client,
            clock=clock,
        )
        self._concurrency = max(concurrency, 1)

    def schedule_s3_object(self, ref: S3ObjectRef, *, deadline: float) -> Outcome:
        """Schedule the job zip `ref`, or reject it with a row and a report; raise what leaves it for later.

        `deadline` (epoch seconds) is when this invocation is certain to be over: until then no other
        invocation may submit the same job.
        """
        [result] = self.schedule_s3_objects([ref], deadline=deadline)
        if isinstance(result, Exception):
            raise result
        return result

    def schedule_s3_objects(
        self, refs: Sequence[S3ObjectRef], *, deadline: float, run_again: Sequence[str] = ()
    ) -> list[Result]:
        """Schedule the job zips `refs` together (valid ones in arrays); return each one's result, in order.

        Every zip's inputs are read concurrently; an invalid zip gets a rejected row and a report; a
        result that is an exception leaves that job for a retry. A ref naming the same job as an
        earlier one shares its result (a duplicate, once the first is scheduled).

        `run_again` names job rows a run-again request wrote: each is claimed and submitted in the same
        arrays, as a row whose upload event came again; their results follow the refs' results, in order.
        """
        first: dict[str, S3ObjectRef] = {}
        for ref in refs:
            first.setdefault(ref.job_id, ref)
        with ThreadPoolExecutor(max_workers=min(self._concurrency, max(len(first), 1))) as pool:
            reads = dict(zip(first, pool.map(self._read_or_refuse, first.values()), strict=True))
            results: dict[str, Result] = {}
            admissions: list[Admission] = []
            refusals: list[tuple[str, S3ObjectRef, _RejectedError]] = []
            for job_id, read in reads.items():
                ref = first[job_id]
                if isinstance(read, dict):
                    admissions.append(
                        Admission(
                            job_id=job_id,
                            inputs=read,
                            input_zip_name=ref.key,
                            input_zip_version=ref.stored_version,
                            is_invoked=False,
                        )
                    )
                elif isinstance(read, _GoneError):
                    reason = f"{read}; a replacement upload is scheduled by its own event"
                    results[job_id] = Outcome(kind=OutcomeKind.IGNORED, job_id=job_id, reason=reason)
                elif isinstance(read, _RejectedError):
                    refusals.append((job_id, ref, read))
                else:
                    results[job_id] = read
            rejected = pool.map(lambda refusal: self._reject_s3_object(*refusal), refusals)
            results.update(zip((job_id for job_id, _, _ in refusals), rejected, strict=True))
        admissions += self._run_again_admissions(run_again, results)
        results.update(self._submitter.submit(admissions, deadline=deadline))
        return _per_request([*(ref.job_id for ref in refs), *run_again], results)

    def _run_again_admissions(self, job_ids: Sequence[str], results: dict[str, Result]) -> list[Admission]:
        """Return the admission of each run-again row; put why there is none (or the error) in `results`."""
        admissions: list[Admission] = []
        for job_id in dict.fromkeys(job_ids):
            try:
                found = run_again_admission(self._dynamodb, self._config.table_name, job_id)
            except (ClientError, BotoCoreError) as exc:
                results[job_id] = exc
                continue
            if isinstance(found, Admission):
                admissions.append(found)
            else:
                results[job_id] = found
        return admissions

    def schedule_api_request(self, payload: bytes, *, request_id: str, deadline: float) -> Outcome:
        """Schedule the job a batching-endpoint request asks for, or reject it with a row and a report.

        `payload` is the JSON object of inputs, validated exactly like inputs.txt; `request_id`
        identifies the request, so a retried invocation is the same job.
        """
        job_id = job_id_for_api_request(request_id)
        try:
            inputs = parse_inputs(payload, source="the request's inputs")
        except InputsError as exc:
            return self._reject_api(exc, job_id=job_id, payload=payload, details={"request_id": request_id})
        admission = Admission(job_id=job_id, inputs=inputs, input_zip_name="", is_invoked=True)
        result = self._submitter.submit([admission], deadline=deadline)[job_id]
        if isinstance(result, Exception):
            raise result
        return result

    def schedule_api_requests(
        self, payloads: Sequence[bytes], *, request_id: str, deadline: float
    ) -> list[Result]:
        """Schedule the jobs of one request listing several, as one array; each job's result, in order.

        Job number `position` is `job_id_for_api_request(f"{request_id}#{position}")`. Each job is
        judged alone: an invalid one is rejected (row and report) and the valid ones are scheduled.
        """
        job_ids = [api_job_id(request_id, position) for position in range(len(payloads))]
        results: dict[str, Result] = {}
        admissions: list[Admission] = []
        for position, payload in enumerate(payloads):
            job_id = job_ids[position]
            try:
                inputs = parse_inputs(payload, source=f"job {position} of the request")
            except InputsError as exc:
                details = {"request_id": request_id, "position": position}
                try:
                    results[job_id] = self._reject_api(exc, job_id=job_id, payload=payload, details=details)
                except (ClientError, BotoCoreError) as error:
                    results[job_id] = error
                continue
            admissions.append(Admission(job_id=job_id, inputs=inputs, input_zip_name="", is_invoked=True))
        results.update(self._submitter.submit(admissions, deadline=deadline))
        return _per_request(job_ids, results)

    def reject_api_request(self, error: InputsError, *, request_id: str, payload: bytes) -> Outcome:
        """Reject the batching-endpoint request `request_id` for `error`, with a row and a report."""
        job_id = job_id_for_api_request(request_id)
        return self._reject_api(error, job_id=job_id, payload=payload, details={"request_id": request_id})

    def _reject_api(
        self, error: InputsError, *, job_id: str, payload: bytes, details: dict[str, object]
    ) -> Outcome:
        text = payload.decode("utf-8", errors="replace")
        report = _Report(
            key=api_rejection_report_key(job_id),
            details={
                **details,
                "payload": text[:_REPORTED_PAYLOAD_CHARS],
                "payload_truncated": len(text) > _REPORTED_PAYLOAD_CHARS,
            },
        )
        rejection = _RejectedError(type(error).__name__, str(error))
        return self._reject(job_id, rejection, report, input_zip_name="", is_invoked=True)

    def _reject_s3_object(self, job_id: str, ref: S3ObjectRef, rejection: _RejectedError) -> Result:
        report = _Report(
            key=rejection_report_key(ref.key),
            details={"inputs_bucket": ref.bucket, "etag": ref.etag, "version_id": ref.version_id},
        )
        try:
            return self._reject(job_id, rejection, report, input_zip_name=ref.key, is_invoked=False)
        except (ClientError, BotoCoreError) as exc:
            return exc

    def _read_or_refuse(self, ref: S3ObjectRef) -> dict[str, str] | Exception:
        """Return the zip's inputs, or the reason it has none: gone, rejected, or an error to retry."""
        try:
            return self._read_inputs(ref)
        except (_GoneError, _RejectedError, ReadFailedError, ClientError, BotoCoreError) as exc:
            return exc

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
