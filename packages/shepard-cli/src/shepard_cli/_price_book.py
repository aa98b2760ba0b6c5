"""Where a job's prices come from: AWS's Price List and Spot price history (cached), or the local figures.

No price is written into Shepard: on AWS every figure comes from the Price List API (on-demand),
EC2's Spot price history (Spot) and DescribeInstanceTypes (sizes). A local flock's `local.flock`
instance is priced with the fixed LOCAL_FIGURES, documented in docs/cost.md, so the whole path runs.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shepard_core import LOCAL_INSTANCE_TYPE, SPOT

from shepard_cli._cost_model import InstanceSpec, instance_specs, on_demand_hourly, spot_hourly

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_pricing import PricingClient

    from shepard_cli._aws import Aws
    from shepard_cli._price_cache import PriceCache

SPEC_MAX_AGE: Final = 30 * 86400
"""Instance sizes do not change: a month."""
ON_DEMAND_MAX_AGE: Final = 7 * 86400
"""On-demand prices change rarely: a week."""
SPOT_DAY_MAX_AGE: Final = 30 * 86400
"""A past day's Spot prices are history: a month."""
SPOT_TODAY_MAX_AGE: Final = 3600
"""Today's Spot prices may still change: an hour."""
PRICE_LIST_REGION: Final = "us-east-1"
"""A region whose endpoint serves the Price List API (it answers for every region)."""
SPOT_PRODUCT: Final = "Linux/UNIX"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LocalFigures:
    """The fixed figures a local flock's instance is priced with (not a real price: a test figure)."""

    instance_type: str
    spec: InstanceSpec
    hourly_usd: float


LOCAL_FIGURES: Final = LocalFigures(
    instance_type=LOCAL_INSTANCE_TYPE, spec=InstanceSpec(vcpus=4, memory_mib=16384), hourly_usd=0.20
)
"""A local flock's machine as `shepard cost` sees it: 4 vCPUs, 16 GiB, USD 0.20 an hour."""


class UnpricedError(Exception):
    """No price can be given for a job; the message says why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Quote:
    """The price of an instance for one job's run: hourly USD, the instance's size, and its source."""

    hourly_usd: float
    spec: InstanceSpec
    source: str
    """`on-demand`, `spot`, `on-demand (capacity type unknown)` or `local figures`."""


class AwsPrices:
    """Asks AWS for instance sizes, on-demand and Spot prices, through the cache."""

    def __init__(self, *, pricing: PricingClient, ec2: EC2Client, region: str, cache: PriceCache) -> None:
        """Price instances of `region`; `pricing` is a Price List client (us-east-1), `ec2` the region's."""
        self._pricing = pricing
        self._ec2 = ec2
        self.region = region
        self._cache = cache
        self._failures: dict[str, str] = {}
        self._spot_days: dict[str, list[dict[str, Any]]] = {}
        """Each day's Spot records with their times parsed once, for the many runs of one day."""

    def _cached(self, key: str, max_age: float, fetch: Any) -> Any:  # noqa: ANN401 - JSON
        """Return the cached answer for `key`, else fetch, store and return it; a failure is remembered."""
        found = self._cache.get(key, max_age)
        if found is not None:
            return found
        if key in self._failures:
            raise UnpricedError(self._failures[key])
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            value = fetch()
        except (BotoCoreError, ClientError) as exc:
            self._failures[key] = f"AWS did not answer ({exc})"
            raise UnpricedError(self._failures[key]) from None
        if value is None:
            return None
        self._cache.put(key, value)
        return value

    def spec(self, instance_type: str) -> InstanceSpec:
        """Return the size of `instance_type` (DescribeInstanceTypes), or raise UnpricedError."""

        def fetch() -> dict[str, float] | None:
            response: Any = self._ec2.describe_instance_types(InstanceTypes=[instance_type])  # type: ignore[list-item]
            found = instance_specs(response).get(instance_type)
            return None if found is None else found.to_json()

        value = self._cached(f"spec/{instance_type}", SPEC_MAX_AGE, fetch)
        if value is None:
            raise UnpricedError(f"EC2 does not describe instance type {instance_type}")
        return InstanceSpec(vcpus=float(value["vcpus"]), memory_mib=float(value["memory_mib"]))

    def on_demand(self, instance_type: str) -> float:
        """Return the on-demand hourly USD price of Linux `instance_type` in the region (Price List)."""

        def fetch() -> float | None:
            filters = {
                "instanceType": instance_type,
                "regionCode": self.region,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
            }
            pages = self._pricing.get_paginator("get_products").paginate(
                ServiceCode="AmazonEC2",
                Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
                FormatVersion="aws_v1",
            )
            return on_demand_hourly(text for page in pages for text in page.get("PriceList", []))

        value = self._cached(f"on-demand/{self.region}/{instance_type}", ON_DEMAND_MAX_AGE, fetch)
        if value is None:
            raise UnpricedError(
                f"the Price List has no on-demand Linux price for {instance_type} in {self.region}"
            )
        return float(value)

    def spot(self, instance_type: str, start: datetime, end: datetime, zone: str | None) -> float:
        """Return the Spot hourly USD price of Linux `instance_type` from `start` to `end` (price history)."""
        now = datetime.now(UTC)
        records: list[dict[str, Any]] = []
        day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        while day <= end:
            records += self._spot_day(instance_type, day, now)
            day += timedelta(days=1)
        price = spot_hourly(records, start, end, zone)
        if price is None:
            raise UnpricedError(
                f"no Spot price history for {instance_type} in {self.region} at {start:%Y-%m-%d}"
            )
        return price

    def _spot_day(self, instance_type: str, day: datetime, now: datetime) -> list[dict[str, Any]]:
        """Return one UTC day's Spot price records (the price in effect at its start among them)."""
        until = min(day + timedelta(days=1), now)

        def fetch() -> list[dict[str, Any]]:
            pages = self._ec2.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=[instance_type],  # type: ignore[list-item]
                ProductDescriptions=[SPOT_PRODUCT],
                StartTime=day,
                EndTime=until,
            )
            return [
                {
                    "AvailabilityZone": record.get("AvailabilityZone", ""),
                    "SpotPrice": record.get("SpotPrice", ""),
                    "Timestamp": record["Timestamp"].astimezone(UTC).isoformat(),
                }
                for page in pages
                for record in page.get("SpotPriceHistory", [])
                if "Timestamp" in record
            ]

        key = f"spot/{self.region}/{instance_type}/{day:%Y-%m-%d}"
        if key not in self._spot_days:
            finished = day + timedelta(days=1) < now - timedelta(hours=1)
            max_age = SPOT_DAY_MAX_AGE if finished else SPOT_TODAY_MAX_AGE
            value = self._cached(key, max_age, fetch)
            self._spot_days[key] = [
                {**record, "Timestamp": datetime.fromisoformat(str(record["Timestamp"]))}
                for record in value or []
            ]
        return self._spot_days[key]


class PriceBook:
    """Quotes a job's instance: local figures for `local.flock`, else AWS's prices (when reachable)."""

    def __init__(self, aws: AwsPrices | None, *, local: LocalFigures = LOCAL_FIGURES) -> None:
        """Quote from `aws` (None: a local flock's endpoint, which has no AWS prices) and `local`."""
        self._aws = aws
        self._local = local
        self._quotes: dict[tuple[object, ...], Quote | str] = {}

    def quote(
        self,
        instance_type: str,
        capacity_type: str | None,
        start: datetime,
        end: datetime,
        zone: str | None = None,
    ) -> Quote:
        """Return the price of `instance_type` for a run from `start` to `end`, or raise UnpricedError.

        Each run is quoted once per book: `shepard watch` prices the same ended jobs at every refresh.
        """
        key = (instance_type, capacity_type, start, end, zone)
        if key not in self._quotes:
            try:
                self._quotes[key] = self._quote(instance_type, capacity_type, start, end, zone)
            except UnpricedError as exc:
                self._quotes[key] = str(exc)
        found = self._quotes[key]
        if isinstance(found, str):
            raise UnpricedError(found)
        return found

    def _quote(
        self,
        instance_type: str,
        capacity_type: str | None,
        start: datetime,
        end: datetime,
        zone: str | None,
    ) -> Quote:
        """Return the quote of one run: the local figures, else AWS's price and size of the instance."""
        if instance_type == self._local.instance_type:
            return Quote(hourly_usd=self._local.hourly_usd, spec=self._local.spec, source="local figures")
        if self._aws is None:
            raise UnpricedError(
                f"{instance_type} has no price here: a local flock's endpoint has no AWS prices"
            )
        spec = self._aws.spec(instance_type)
        if capacity_type == SPOT:
            return Quote(hourly_usd=self._aws.spot(instance_type, start, end, zone), spec=spec, source="spot")
        source = "on-demand" if capacity_type else "on-demand (capacity type unknown)"
        return Quote(hourly_usd=self._aws.on_demand(instance_type), spec=spec, source=source)


def price_book_for(aws: Aws) -> PriceBook:
    """Return the price book of the flock `aws` reaches: local figures only at a local flock's endpoint.

    On AWS, prices come from the Price List API (its us-east-1 endpoint) and the flock's region's EC2,
    cached in `cache/prices.json` of the CLI's home.
    """
    from shepard_cli._aws import is_loopback
    from shepard_cli._price_cache import CACHE_FILE, PriceCache

    if is_loopback(aws.access.endpoint_url):
        return PriceBook(None)
    region = aws.session.region_name or PRICE_LIST_REGION
    prices = AwsPrices(
        pricing=aws.session.client("pricing", region_name=PRICE_LIST_REGION),
        ec2=aws.client("ec2"),
        region=region,
        cache=PriceCache(aws.access.home / "cache" / CACHE_FILE),
    )
    return PriceBook(prices)
