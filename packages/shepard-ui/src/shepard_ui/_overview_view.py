"""The Overview page's figures as JSON: counts per status group and TAG, progress, rate, ETA, problems.

The spend so far, in all and per TAG, is priced from the usage counters the overview read (no job row is
read for it), as `shepard watch` prices them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from shepard_core import ENDED_GROUPS, GROUP_OF, StatusGroup

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shepard_cli._counter_spend import CounterSpend
    from shepard_cli._overview import Overview
    from shepard_core import JobRow

    from shepard_ui._flock import Flock


class OverviewFeed:
    """Reads overviews for the page and feeds them to one Throughput, so rate and ETA span the refreshes."""

    def __init__(self) -> None:
        """Start with no overview read."""
        from shepard_cli._overview import Throughput

        self._throughput = Throughput()
        self._lock = threading.Lock()

    def read(self, flock: Flock) -> dict[str, Any]:
        """Read the flock's overview (at most ~100 items, whatever its size) and return it as JSON."""
        from datetime import UTC, datetime

        import botocore.exceptions
        from shepard_cli._counter_spend import price_usage
        from shepard_cli._overview import read_overview

        from shepard_ui._listing import missing_indexes

        try:
            overview = read_overview(flock.dynamodb, flock.names.table, problems=10)
        except botocore.exceptions.ClientError as exc:
            raise missing_indexes(exc) from None
        with self._lock:
            self._throughput.add(overview)
            rate, eta = self._throughput.jobs_per_minute, self._throughput.eta
        spend = price_usage(overview.counts.usage, flock.price_book(), datetime.now(UTC))
        return overview_json(overview, rate, None if eta is None else eta.total_seconds(), spend)


def _groups(counts: Mapping[StatusGroup, int]) -> dict[str, int]:
    return {group.value: int(counts.get(group, 0)) for group in StatusGroup}


def problem_json(row: JobRow) -> dict[str, Any]:
    """Return one failed or rejected job as the page lists it, with the link to its error zip or report."""
    group = GROUP_OF[row.status]
    link = f"/jobs/{row.uuid}/error.zip" if group is StatusGroup.FAILED else f"/jobs/{row.uuid}/report.json"
    return {
        "uuid": row.uuid,
        "group": group.value,
        "reason": row.reason or "",
        "exit_code": row.exit_code,
        "zip": row.input_zip_name,
        "when": row.finish_time or row.submit_time or row.start_time or "",
        "link": link,
        "link_text": "error zip" if group is StatusGroup.FAILED else "rejection report",
    }


def overview_json(
    overview: Overview, rate: float | None, eta_seconds: float | None, spend: CounterSpend | None = None
) -> dict[str, Any]:
    """Return an overview, its jobs per minute, ETA and spend as the JSON the Overview page renders."""
    counts = overview.counts
    by_tag = {} if spend is None else spend.by_tag
    total = int(counts.total)
    ended = sum(int(counts.groups.get(group, 0)) for group in ENDED_GROUPS)
    tags = [
        {
            "tag": tag,
            "groups": _groups(groups),
            "total": sum(groups.values()),
            "spend_usd": round(by_tag.get(tag, 0.0), 6),
        }
        for tag, groups in sorted(counts.tags.items())
    ]
    return {
        "total": total,
        "ended": ended,
        "percent": round(100 * ended / total, 1) if total else 0.0,
        "groups": _groups(dict(counts.groups)),
        "jobs_per_minute": None if rate is None else round(rate, 1),
        "eta_seconds": None if eta_seconds is None else round(eta_seconds),
        "tags": tags,
        "problems": [problem_json(row) for row in overview.problems],
        "spend": None if spend is None else spend.spend_json(),
        "items_read": overview.items_read,
        "read_at": overview.read_at.isoformat(timespec="seconds"),
    }
