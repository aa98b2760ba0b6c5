"""The spend so far from the usage counters: no job row is read, whatever the flock's size.

Each usage key (instance type, capacity type, the jobs' vCPUs and memory, TAG) holds the summed run time
of the ended jobs under it, and is priced as `shepard cost` prices a job: hourly price x min(1, max(vCPU
share, memory share)) x run time. On-demand (and the local figures) is exact. The counters do not keep
when each run happened, so a Spot run is priced at the recent Spot price (the time-weighted price of the
last SPOT_WINDOW), not the price of its day: an estimate.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shepard_core import SPOT
from shepard_core._counts import COUNTED_TAG_CHARS  # how much of a TAG the counters keep

from shepard_cli._cost_model import job_cost, job_share
from shepard_cli._cost_report import NO_TAG
from shepard_cli._price_book import UnpricedError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shepard_core import UsageKey, UsageSum

    from shepard_cli._price_book import PriceBook

SPOT_WINDOW: Final = timedelta(days=1)
"""How far back the Spot price that prices the counted Spot runs looks."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class CounterSpend:
    """The spend the usage counters give: the total, the jobs priced and not, and the split by TAG."""

    total_usd: float
    priced_jobs: int
    unpriced_jobs: int
    by_tag: Mapping[str, float]
    spot_estimated: bool
    """Whether Spot runs were priced at the recent Spot price (an estimate)."""

    def spend_json(self) -> dict[str, Any]:
        """Return the spend in short, shaped as a scan's (`total_usd`, `priced`, `unpriced`), and more."""
        return {
            "total_usd": round(self.total_usd, 6),
            "priced": self.priced_jobs,
            "unpriced": self.unpriced_jobs,
            "by_tag": {tag: round(usd, 6) for tag, usd in self.by_tag.items()},
            "spot_estimated": self.spot_estimated,
            "counted_by": "counters",
        }


def _key_cost(key: UsageKey, total: UsageSum, book: PriceBook, now: datetime) -> float | None:
    """Return what one usage key's runs cost, or None when they cannot be priced."""
    if key.instance_type is None or key.vcpus is None or key.memory_mib is None:
        return None
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)  # one quote per book an hour
    start = end - SPOT_WINDOW if key.capacity_type == SPOT else end
    try:
        quote = book.quote(key.instance_type, key.capacity_type, start, end)
    except UnpricedError:
        return None
    share = job_share(quote.spec, key.vcpus, key.memory_mib)
    return job_cost(quote.hourly_usd, share, total.run_ms / 1000)


def price_usage(
    usage: Mapping[UsageKey, UsageSum], book: PriceBook, now: datetime, *, tag: str | None = None
) -> CounterSpend:
    """Price the counted usage (of one TAG when `tag` is given) with `book`, as of `now`."""
    wanted = None if tag is None else tag[:COUNTED_TAG_CHARS]
    total = 0.0
    priced = unpriced = 0
    by_tag: dict[str, float] = {}
    spot = False
    for key, summed in usage.items():
        if wanted is not None and key.tag != wanted:
            continue
        usd = _key_cost(key, summed, book, now)
        if usd is None:
            unpriced += summed.jobs
            continue
        priced += summed.jobs
        total += usd
        spot = spot or key.capacity_type == SPOT
        name = key.tag or NO_TAG
        by_tag[name] = by_tag.get(name, 0.0) + usd
    return CounterSpend(
        total_usd=total,
        priced_jobs=priced,
        unpriced_jobs=unpriced,
        by_tag=dict(sorted(by_tag.items(), key=lambda pair: (-pair[1], pair[0]))),
        spot_estimated=spot,
    )
