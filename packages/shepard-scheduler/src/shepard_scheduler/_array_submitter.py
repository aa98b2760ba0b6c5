"""Submit valid jobs to AWS Batch as arrays: per array one claim token, one manifest and one SubmitJob."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import (
    MAX_ARRAY_SIZE,
    TAG,
    Attr,
    JobRow,
    JobStatus,
    PayloadVariable,
    Setting,
    array_job_name,
    child_job_id,
    iso_now,
    new_claim_token,
    special_value,
    ttl_after_days,
)

from shepard_scheduler._claims import ClaimTable, claim_of
from shepard_scheduler._observability import logger
from shepard_scheduler._outcome import JobInFlightError, Outcome, OutcomeKind
from shepard_scheduler._rows import LEASE, text_attribute
from shepard_scheduler._submit_once import submit_job_once
from shepard_scheduler._submit_tags import submit_tags

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_batch.type_defs import KeyValuePairTypeDef

    from shepard_scheduler._config import SchedulerConfig
    from shepard_scheduler._rows import Item

Result = Outcome | Exception
"""How scheduling one job ended: an outcome, or the error that leaves it for a retry."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Admission:
    """A valid job, ready to be claimed and submitted."""

    job_id: str
    inputs: dict[str, str]
    input_zip_name: str
    is_invoked: bool
    input_zip_version: str | None = None
    """The upload's version id, when the inputs bucket is versioned: the worker stages exactly that upload."""


def settled(job_id: str, existing: Item) -> Outcome | None:
    """Return the outcome a row that already exists stands for, or None if it may be (re)claimed."""
    batch_job_id = text_attribute(existing, Attr.BATCH_JOB_ID)
    status = text_attribute(existing, Attr.JOB_STATUS)
    if batch_job_id is not None:
        return Outcome(kind=OutcomeKind.DUPLICATE, job_id=job_id, batch_job_id=batch_job_id)
    if status == JobStatus.REJECTED.value:
        reason = text_attribute(existing, Attr.REJECTION_REASON)
        return Outcome(kind=OutcomeKind.DUPLICATE, job_id=job_id, reason=reason)
    if status is not None and status != JobStatus.NOT_YET_INITIATED.value:
        return Outcome(
            kind=OutcomeKind.DUPLICATE, job_id=job_id, reason=f"a worker already runs it (status {status})"
        )
    return None


class ArraySubmitter:
    """Claims, submits and records groups of valid jobs; each job's row is claimed by one array at a time."""

    def __init__(
        self,
        config: SchedulerConfig,
        *,
        claims: ClaimTable,
        batch_client: BatchClient,
        clock: Callable[[], float],
    ) -> None:
        """Submit to the queue and job definition `config` names, claiming rows through `claims`."""
        self._config = config
        self._claims = claims
        self._batch = submit_job_once(batch_client)
        self._clock = clock

    def submit(self, admissions: Sequence[Admission], *, deadline: float) -> dict[str, Result]:
        """Schedule every job (each UUID once) in groups of up to 10,000; return each job's result.

        `deadline` (epoch seconds) is when this invocation is certain to be over: until then no other
        invocation may claim these rows.
        """
        unique = list({admission.job_id: admission for admission in admissions}.values())
        results: dict[str, Result] = {}
        for start in range(0, len(unique), MAX_ARRAY_SIZE):
            results.update(self._submit_group(unique[start : start + MAX_ARRAY_SIZE], deadline=deadline))
        return results

    def _submit_group(self, group: Sequence[Admission], *, deadline: float) -> dict[str, Result]:
        token = new_claim_token()
        lease_until_ms = int(deadline * 1000)
        end_time = ttl_after_days(self._config.days_to_keep_failed_launch_indexes)
        rows: list[Item] = [
            JobRow(
                uuid=admission.job_id,
                status=JobStatus.NOT_YET_INITIATED,
                inputs=admission.inputs,
                input_zip_name=admission.input_zip_name,
                input_zip_version=admission.input_zip_version,
                is_invoked=admission.is_invoked,
                end_time=end_time,
            ).to_item()  # type: ignore[misc]
            for admission in group
        ]
        existing, failed = self._claim(rows, token=token, lease_until_ms=lease_until_ms)
        results: dict[str, Result] = dict(failed)
        resumed: set[str] = set()
        for job_id, row in existing.items():
            result: Result | None = settled(job_id, row)
            if result is None:
                result = self._reclaim(job_id, token=token, lease_until_ms=lease_until_ms)
                if result is None:
                    resumed.add(job_id)
                    continue
            results[job_id] = result
        claimed = [
            a.job_id
            for a in group
            if a.job_id not in failed and (a.job_id not in existing or a.job_id in resumed)
        ]
        if not claimed:
            return results
        wanted = set(claimed)
        tags = submit_tags(
            self._config.tags, (special_value(a.inputs, TAG) for a in group if a.job_id in wanted)
        )
        try:
            batch_job_ids = self._launch(claimed, token=token, end_time=end_time, tags=tags)
            submitted_at = self._clock()
        except Exception as exc:  # noqa: BLE001 - every claimed job is left for a retry
            self._claims.release(claimed, token=token)
            results.update(dict.fromkeys(claimed, exc))
            return results
        except BaseException:
            self._claims.release(claimed, token=token)
            raise
        results.update(
            self._record(claimed, batch_job_ids, token=token, resumed=resumed, submitted_at=submitted_at)
        )
        return results

    def _claim(
        self, rows: list[Item], *, token: str, lease_until_ms: int
    ) -> tuple[dict[str, Item], dict[str, Exception]]:
        """Create the rows holding `token`; return the rows that existed and the error of each row not made.

        The rows are claimed together; if that fails, each is claimed alone, so a row DynamoDB (or
        the SDK) refuses fails only its own job, never its batch-mates. Rows a committed part of the
        failed attempt already claimed for `token` count as ours.
        """
        try:
            return self._claims.claim_new(rows, token=token, lease_until_ms=lease_until_ms), {}
        except Exception as exc:  # noqa: BLE001 - judged row by row below
            if len(rows) == 1:
                return {}, {str(rows[0][Attr.UUID]["S"]): exc}
            logger.warning("claiming %d rows together failed; claiming each alone", len(rows), exc_info=True)
        existing: dict[str, Item] = {}
        failed: dict[str, Exception] = {}
        for row in rows:
            job_id = str(row[Attr.UUID]["S"])
            try:
                found = self._claims.claim_new([row], token=token, lease_until_ms=lease_until_ms)
            except Exception as exc:  # noqa: BLE001 - this job alone is left for a retry
                failed[job_id] = exc
                continue
            existing.update({key: item for key, item in found.items() if claim_of(item) != token})
        return existing, failed

    def _reclaim(self, job_id: str, *, token: str, lease_until_ms: int) -> Result | None:
        """Claim a resumable row for `token`; return None if claimed, else what the row stands for."""
        try:
            blocker = self._claims.reclaim(
                job_id, token=token, lease_until_ms=lease_until_ms, now_ms=int(self._clock() * 1000)
            )
        except (ClientError, BotoCoreError) as exc:
            return exc
        if blocker is None:
            return None
        return settled(job_id, blocker) or JobInFlightError(job_id, int(text_attribute(blocker, LEASE) or 0))

    def _launch(self, claimed: list[str], *, token: str, end_time: int, tags: dict[str, str]) -> list[str]:
        """Submit the claimed jobs as one plain job (one of them) or one array; return each one's Batch id.

        The job carries `tags`, and Batch propagates them to its ECS tasks.
        """
        claim: KeyValuePairTypeDef = {"name": Setting.ARRAY_CLAIM.value, "value": token}
        tagging: dict[str, Any] = {"propagateTags": True, **({"tags": tags} if tags else {})}
        if len(claimed) == 1:
            job_uuid: KeyValuePairTypeDef = {"name": PayloadVariable.UUID.value, "value": claimed[0]}
            response = self._batch.submit_job(
                jobName=array_job_name(token),
                jobQueue=self._config.job_queue,
                jobDefinition=self._config.job_definition,
                containerOverrides={"environment": [job_uuid, claim]},
                **tagging,
            )
            return [response["jobId"]]
        self._claims.write_manifest(token, claimed, end_time=end_time)
        response = self._batch.submit_job(
            jobName=array_job_name(token),
            jobQueue=self._config.job_queue,
            jobDefinition=self._config.job_definition,
            arrayProperties={"size": len(claimed)},
            containerOverrides={"environment": [claim]},
            **tagging,
        )
        return [child_job_id(response["jobId"], index) for index in range(len(claimed))]

    def _record(
        self,
        claimed: list[str],
        batch_job_ids: list[str],
        *,
        token: str,
        resumed: set[str],
        submitted_at: float,
    ) -> dict[str, Result]:
        """Record each child's Batch job id on its row and return each job's outcome."""
        is_array = len(claimed) > 1
        children = [
            (job_id, batch_job_id, index if is_array else None)
            for index, (job_id, batch_job_id) in enumerate(zip(claimed, batch_job_ids, strict=True))
        ]
        refused: dict[str, Item] = {}
        try:
            refused = self._claims.record(children, token=token, submit_time=iso_now())
        except Exception:  # noqa: BLE001 - the jobs are submitted; each child records itself when it starts
            logger.warning("Batch job ids not recorded; each job's worker records its own", exc_info=True)
        results: dict[str, Result] = {}
        for job_id, batch_job_id, _ in children:
            row: Any = refused.get(job_id)
            if row is not None and claim_of(row) != token:
                # Another invocation re-claimed the row after our lease: its array runs the job, ours exits.
                results[job_id] = Outcome(
                    kind=OutcomeKind.DUPLICATE,
                    job_id=job_id,
                    batch_job_id=text_attribute(row, Attr.BATCH_JOB_ID),
                    reason=f"Batch job {batch_job_id} lost the row's claim to another scheduling attempt",
                )
                continue
            results[job_id] = Outcome(
                kind=OutcomeKind.SCHEDULED,
                job_id=job_id,
                batch_job_id=batch_job_id,
                resumed=job_id in resumed,
                submitted_at=submitted_at,
                submit_size=len(claimed),
            )
        return results
