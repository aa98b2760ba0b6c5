"""How a job is priced, as the established estimators do, and how AWS's price answers are read.

A job's cost is the instance's hourly price times the job's share of the instance (the larger of its
share of the vCPUs and of the memory) times its run time. Left out: storage (EBS volumes, S3), data
transfer, and the idle capacity of instances no job fills.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MIB_PER_GIB: Final = 1024
SECONDS_PER_HOUR: Final = 3600


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceSpec:
    """An instance type's size: its vCPUs and its memory in MiB."""

    vcpus: float
    memory_mib: float

    def to_json(self) -> dict[str, float]:
        """Return the size as a JSON-ready dict (what the price cache stores)."""
        return {"vcpus": self.vcpus, "memory_mib": self.memory_mib}


def job_share(instance: InstanceSpec, vcpus: float, memory_mib: float) -> float:
    """Return the share of `instance` a job holds: max(vCPUs share, memory share), at most the whole."""
    if instance.vcpus <= 0 or instance.memory_mib <= 0:
        raise ValueError(f"an instance has vCPUs and memory, not {instance}")
    return min(1.0, max(vcpus / instance.vcpus, memory_mib / instance.memory_mib))


def job_cost(hourly_price: float, share: float, seconds: float) -> float:
    """Return the cost of holding `share` of an instance priced `hourly_price` for `seconds`."""
    return hourly_price * share * max(0.0, seconds) / SECONDS_PER_HOUR


def on_demand_hourly(price_list: Iterable[str]) -> float | None:
    """Return the on-demand USD hourly price in Price List `get_products` answers (JSON strings).

    Of the products' OnDemand price dimensions priced per hour, the lowest above zero is taken (a
    product listed twice, say with and without a reservation capacity, has one running price).
    """
    prices: list[float] = []
    for text in price_list:
        product: Any = json.loads(text)
        on_demand: Any = product.get("terms", {}).get("OnDemand", {})
        for term in on_demand.values():
            for dimension in term.get("priceDimensions", {}).values():
                if str(dimension.get("unit", "")).lower() not in {"hrs", "hours", "hour"}:
                    continue
                try:
                    usd = float(dimension.get("pricePerUnit", {}).get("USD", ""))
                except ValueError:
                    continue
                if usd > 0:
                    prices.append(usd)
    return min(prices) if prices else None


def instance_specs(response: Mapping[str, Any]) -> dict[str, InstanceSpec]:
    """Return each instance type's size in an EC2 DescribeInstanceTypes answer."""
    specs: dict[str, InstanceSpec] = {}
    for described in response.get("InstanceTypes", []):
        vcpus = described.get("VCpuInfo", {}).get("DefaultVCpus")
        memory = described.get("MemoryInfo", {}).get("SizeInMiB")
        if described.get("InstanceType") and vcpus and memory:
            specs[str(described["InstanceType"])] = InstanceSpec(vcpus=float(vcpus), memory_mib=float(memory))
    return specs


def _moment(value: object) -> datetime | None:
    """Return a record's timestamp (a datetime, or ISO text) as aware UTC; None when unreadable."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _zone_prices(history: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[datetime, float]]]:
    """Return each zone's price changes, oldest first, from SpotPriceHistory records."""
    zones: dict[str, list[tuple[datetime, float]]] = {}
    for record in history:
        moment = _moment(record.get("Timestamp"))
        try:
            price = float(str(record.get("SpotPrice", "")))
        except ValueError:
            continue
        if moment is not None and price > 0:
            zones.setdefault(str(record.get("AvailabilityZone", "")), []).append((moment, price))
    return {zone: sorted(changes) for zone, changes in zones.items()}


def _average_over(changes: list[tuple[datetime, float]], start: datetime, end: datetime) -> float:
    """Return the time-weighted price of `changes` from `start` to `end` (the price at `start` if equal).

    The price in effect at a moment is the last change at or before it (the first one, before any).
    """

    def price_at(moment: datetime) -> float:
        effective = [price for when, price in changes if when <= moment]
        return effective[-1] if effective else changes[0][1]

    if end <= start:
        return price_at(start)
    cuts = [start, *(when for when, _ in changes if start < when < end), end]
    total = sum(price_at(a) * (b - a).total_seconds() for a, b in itertools.pairwise(cuts))
    return total / (end - start).total_seconds()


def spot_hourly(
    history: Iterable[Mapping[str, Any]], start: datetime, end: datetime, zone: str | None = None
) -> float | None:
    """Return the Spot hourly price over `start`-`end`, time-weighted, from DescribeSpotPriceHistory records.

    In the job's zone when it is known and listed; else the mean over the zones listed. None: no price.
    """
    zones = _zone_prices(history)
    if zone and zone in zones:
        return _average_over(zones[zone], start, end)
    averages = [_average_over(changes, start, end) for changes in zones.values() if changes]
    return sum(averages) / len(averages) if averages else None
