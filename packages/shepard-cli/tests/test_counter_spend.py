"""Pricing the usage counters: the formula of `shepard cost`, Spot at the recent price, unpriced keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shepard_cli._cost_model import InstanceSpec
from shepard_cli._counter_spend import SPOT_WINDOW, price_usage
from shepard_cli._price_book import PriceBook, UnpricedError
from shepard_core import UsageKey, UsageSum

NOW = datetime(2026, 5, 1, 14, 37, 12, tzinfo=UTC)
HOUR = datetime(2026, 5, 1, 14, tzinfo=UTC)


class RecordedPrices:
    """AWS prices as recorded answers: m5.large is 2 vCPUs / 8 GiB, USD 0.096 on demand, 0.03 Spot."""

    def __init__(self) -> None:
        self.spot_asked: list[tuple[datetime, datetime]] = []

    def spec(self, instance_type: str) -> InstanceSpec:
        if instance_type != "m5.large":
            raise UnpricedError(f"EC2 does not describe instance type {instance_type}")
        return InstanceSpec(vcpus=2, memory_mib=8192)

    def on_demand(self, instance_type: str) -> float:
        return 0.096

    def spot(self, instance_type: str, start: datetime, end: datetime, zone: str | None) -> float:
        self.spot_asked.append((start, end))
        return 0.03


def _book() -> tuple[PriceBook, RecordedPrices]:
    prices = RecordedPrices()
    book: Any = PriceBook(prices)  # type: ignore[arg-type]
    return book, prices


def _key(capacity: str | None = "on-demand", tag: str = "", **parts: Any) -> UsageKey:
    values: dict[str, Any] = {"instance_type": "m5.large", "vcpus": 1.0, "memory_mib": 2048}
    return UsageKey(capacity_type=capacity, tag=tag, **(values | parts))


def test_on_demand_runs_are_priced_as_cost_prices_a_job() -> None:
    """Two hours of half an m5.large (1 of 2 vCPUs) on demand: 0.096 x 0.5 x 2 = USD 0.096."""
    book, _ = _book()
    spend = price_usage({_key(): UsageSum(run_ms=7_200_000, jobs=3)}, book, NOW)
    assert spend.total_usd == pytest.approx(0.096)
    assert (spend.priced_jobs, spend.unpriced_jobs, spend.spot_estimated) == (3, 0, False)


def test_the_larger_share_prices_a_memory_heavy_run() -> None:
    """1 vCPU but 6 GiB of an 8 GiB instance holds three quarters of it."""
    book, _ = _book()
    spend = price_usage({_key(memory_mib=6144): UsageSum(run_ms=3_600_000, jobs=1)}, book, NOW)
    assert spend.total_usd == pytest.approx(0.096 * 0.75)


def test_spot_runs_are_priced_at_the_recent_spot_price_and_marked_an_estimate() -> None:
    """A Spot key is quoted over the SPOT_WINDOW before the hour of `now`, and the spend says so."""
    book, prices = _book()
    spend = price_usage({_key("spot"): UsageSum(run_ms=3_600_000, jobs=1)}, book, NOW)
    assert spend.total_usd == pytest.approx(0.03 * 0.5)
    assert prices.spot_asked == [(HOUR - SPOT_WINDOW, HOUR)]
    assert spend.spot_estimated is True
    assert spend.spend_json()["spot_estimated"] is True
    price_usage({_key("spot"): UsageSum(run_ms=1, jobs=1)}, book, NOW + timedelta(minutes=10))
    assert len(prices.spot_asked) == 1  # the same hour's quote is reused


@pytest.mark.parametrize(
    "key",
    [
        UsageKey(instance_type=None, tag="t"),
        _key(vcpus=None),
        _key(memory_mib=None),
        _key(instance_type="x9.unknown"),
    ],
)
def test_keys_that_cannot_be_priced_count_their_jobs_as_unpriced(key: UsageKey) -> None:
    """No instance, no size, or no price: the key's jobs are unpriced and add nothing to the total."""
    book, _ = _book()
    spend = price_usage({key: UsageSum(run_ms=60_000, jobs=2), _key(): UsageSum(3_600_000, 1)}, book, NOW)
    assert (spend.priced_jobs, spend.unpriced_jobs) == (1, 2)
    assert spend.total_usd == pytest.approx(0.048)


def test_a_tag_is_priced_alone_and_matched_as_counted() -> None:
    """`tag` keeps that TAG's keys (its first 100 characters, as counted); by_tag splits the rest."""
    book, _ = _book()
    long_tag = "x" * 150
    usage = {
        _key(tag=long_tag[:100]): UsageSum(3_600_000, 1),
        _key(tag="other"): UsageSum(7_200_000, 1),
        _key(): UsageSum(3_600_000, 1),
    }
    assert price_usage(usage, book, NOW, tag=long_tag).total_usd == pytest.approx(0.048)
    everything = price_usage(usage, book, NOW)
    assert everything.by_tag == pytest.approx({"other": 0.096, long_tag[:100]: 0.048, "(no TAG)": 0.048})
    assert next(iter(everything.by_tag)) == "other"
