"""What the jobs in view cost: each ended job priced, the total split by TAG and by status group.

A job that ran but cannot be priced (no instance recorded, no price found) is counted and listed as
unpriced with the reason; a rejected job never ran and costs nothing; a job not yet ended is counted
apart (its row records its run when it ends).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_core import GROUP_OF, RAN_GROUPS, TAG, JobRow, StatusGroup, special_value

from shepard_cli._cost_model import job_cost, job_share
from shepard_cli._price_book import UnpricedError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from shepard_cli._price_book import PriceBook, Quote

NO_TAG: Final = "(no TAG)"
NO_RUN: Final = "no run recorded: it ended before it ran, or on a flock that did not record runs yet"
LEFT_OUT: Final = (
    "storage (EBS volumes, S3 objects), data transfer and data out, idle capacity of instances no job "
    "fills, the scheduler's Lambda, DynamoDB and CloudWatch"
)
"""What the estimate does not count: it prices the share of instances the jobs held, nothing more."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobCost:
    """One ended job's price, or why it has none."""

    uuid: str
    tag: str | None
    group: StatusGroup
    usd: float | None
    reason: str | None = None
    """Why the job is unpriced (None when priced)."""
    instance_type: str | None = None
    source: str | None = None
    seconds: float | None = None


def _tag_of(row: JobRow) -> str | None:
    """Return the job's TAG input, in whichever spelling inputs.txt used."""
    return special_value(row.inputs, TAG)


def _moment(milliseconds: int) -> datetime:
    """Return epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def price_row(row: JobRow, book: PriceBook) -> JobCost:
    """Return the price of one ended job's run, or a JobCost with usd None saying why there is none."""
    base: dict[str, Any] = {"uuid": row.uuid, "tag": _tag_of(row), "group": GROUP_OF[row.status]}
    if row.run_started_ms is None or row.run_ended_ms is None:
        return JobCost(**base, usd=None, reason=NO_RUN)
    seconds = max(0.0, (row.run_ended_ms - row.run_started_ms) / 1000)
    base |= {"instance_type": row.instance_type, "seconds": seconds}
    if not row.instance_type:
        return JobCost(
            **base, usd=None, reason="its instance was not recorded (Batch ended it without its worker)"
        )
    if row.vcpus is None or row.memory_mib is None:
        return JobCost(**base, usd=None, reason="the job's vCPUs and memory were not recorded")
    try:
        quote: Quote = book.quote(
            row.instance_type,
            row.capacity_type,
            _moment(row.run_started_ms),
            _moment(row.run_ended_ms),
            row.availability_zone,
        )
    except UnpricedError as exc:
        return JobCost(**base, usd=None, reason=str(exc))
    share = job_share(quote.spec, row.vcpus, row.memory_mib)
    return JobCost(**base, usd=job_cost(quote.hourly_usd, share, seconds), source=quote.source)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CostReport:
    """The priced jobs in view, the unpriced ones, and the jobs that did not (or not yet) run."""

    priced: tuple[JobCost, ...]
    unpriced: tuple[JobCost, ...]
    not_ended: int
    never_ran: int

    @property
    def total_usd(self) -> float:
        """Return the sum of the priced jobs' costs."""
        return sum(job.usd or 0.0 for job in self.priced)

    def by_tag(self) -> dict[str, float]:
        """Return the cost per TAG (NO_TAG for jobs without one), largest first."""
        return _split(self.priced, lambda job: job.tag or NO_TAG)

    def by_status(self) -> dict[str, float]:
        """Return the cost per status group (complete, failed), largest first."""
        return _split(self.priced, lambda job: job.group.value)

    def spend_json(self) -> dict[str, Any]:
        """Return the spend in short (what `shepard watch --output json` shows): total and job counts."""
        return {
            "total_usd": round(self.total_usd, 6),
            "priced": len(self.priced),
            "unpriced": len(self.unpriced),
        }

    def to_json(self) -> dict[str, Any]:
        """Return the report in the documented JSON shape of `shepard cost --output json`."""
        return {
            "currency": "USD",
            "total_usd": round(self.total_usd, 6),
            "jobs": {
                "priced": len(self.priced),
                "unpriced": len(self.unpriced),
                "not_ended": self.not_ended,
                "never_ran": self.never_ran,
            },
            "by_tag": {tag: round(usd, 6) for tag, usd in self.by_tag().items()},
            "by_status": {group: round(usd, 6) for group, usd in self.by_status().items()},
            "unpriced": [{"uuid": job.uuid, "tag": job.tag, "reason": job.reason} for job in self.unpriced],
            "left_out": LEFT_OUT,
        }


def _split(jobs: Iterable[JobCost], key: Callable[[JobCost], str]) -> dict[str, float]:
    """Return the cost of `jobs` summed by `key`, largest first."""
    totals: dict[str, float] = {}
    for job in jobs:
        totals[key(job)] = totals.get(key(job), 0.0) + (job.usd or 0.0)
    return dict(sorted(totals.items(), key=lambda pair: (-pair[1], pair[0])))


def cost_report(rows: Iterable[JobRow], book: PriceBook) -> CostReport:
    """Price every job among `rows` that ran to its end; count the others."""
    priced: list[JobCost] = []
    unpriced: list[JobCost] = []
    not_ended = never_ran = 0
    for row in rows:
        group = GROUP_OF[row.status]
        if group is StatusGroup.REJECTED:
            never_ran += 1
            continue
        if group not in RAN_GROUPS:
            not_ended += 1
            continue
        job = price_row(row, book)
        (priced if job.usd is not None else unpriced).append(job)
    return CostReport(
        priced=tuple(priced), unpriced=tuple(unpriced), not_ended=not_ended, never_ran=never_ran
    )
