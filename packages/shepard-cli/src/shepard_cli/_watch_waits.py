"""The jobs `shepard watch` shows waiting for AWS Batch longer than the threshold, and why each waits."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shepard_core import GROUP_OF, StatusGroup

from shepard_cli._wait_diagnosis import WAITING_STATES
from shepard_cli._watch_snapshot import parse_row_time

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime, timedelta

    from shepard_core import JobRow

    from shepard_cli._wait_reader import WaitReader

MAX_DIAGNOSED: Final = 30
"""The most waiting jobs one refresh describes (the longest waiting first): one DescribeJobs call."""
MAX_COUNTED: Final = 500
"""The most waiting jobs a refresh from the counters counts one by one; past that it says "over"."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LongWait:
    """A job waiting for AWS Batch longer than the threshold, and why (once diagnosed)."""

    uuid: str
    batch_job_id: str
    waited_seconds: float
    batch_status: str | None = None
    summary: str | None = None
    causes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the wait as a JSON-ready dict."""
        return {**dataclasses.asdict(self), "causes": list(self.causes)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LongWaits:
    """The jobs in view waiting longer than the threshold: how many, and the longest waiting, diagnosed."""

    threshold_seconds: float
    total: int
    shown: tuple[LongWait, ...]
    total_is_floor: bool = False
    """More jobs wait than `total`: the count stopped there."""

    def to_json(self) -> dict[str, Any]:
        """Return the waits as a JSON-ready dict."""
        return {
            "threshold_seconds": self.threshold_seconds,
            "total": self.total,
            "total_is_floor": self.total_is_floor,
            "shown": [wait.to_json() for wait in self.shown],
        }


def long_waits(
    rows: Iterable[JobRow], now: datetime, threshold: timedelta, limit: int = MAX_DIAGNOSED
) -> LongWaits:
    """Return the rows submitted to Batch and waiting at least `threshold`, the `limit` longest waiting."""
    found = []
    for row in rows:
        if GROUP_OF[row.status] is not StatusGroup.SUBMITTED or not row.batch_job_id:
            continue
        since = parse_row_time(row.submit_time or row.start_time)
        if since is not None and now - since >= threshold:
            found.append(
                LongWait(
                    uuid=row.uuid, batch_job_id=row.batch_job_id, waited_seconds=(now - since).total_seconds()
                )
            )
    found.sort(key=lambda wait: (-wait.waited_seconds, wait.uuid))
    return LongWaits(
        threshold_seconds=threshold.total_seconds(), total=len(found), shown=tuple(found[:limit])
    )


def diagnose_waits(waits: LongWaits, reader: WaitReader) -> LongWaits:
    """Return the waits with why each waits; a job Batch has started meanwhile is left out."""
    if not waits.shown:
        return waits
    reader.refresh()
    found = reader.diagnose([wait.batch_job_id for wait in waits.shown])
    diagnosed = []
    for wait in waits.shown:
        diagnosis = found[wait.batch_job_id]
        if diagnosis.status is not None and diagnosis.status not in WAITING_STATES:
            continue
        diagnosed.append(
            dataclasses.replace(
                wait, batch_status=diagnosis.status, summary=diagnosis.summary, causes=tuple(diagnosis.causes)
            )
        )
    return dataclasses.replace(waits, shown=tuple(diagnosed))
