"""Prices from AWS through the on-disk cache: the exact requests, the answers read, no second asking."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from shepard_cli._price_book import LOCAL_FIGURES, AwsPrices, PriceBook, UnpricedError
from shepard_cli._price_cache import PriceCache

RECORDED = Path(__file__).parent / "pricing"
START = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FILTERS = [
    {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "m5.large"},
    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
    {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
    {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
    {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
    {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
]


def recorded(name: str):
    answer = json.loads((RECORDED / name).read_text())
    answer.pop("ResponseMetadata", None)
    answer.pop("NextToken", None)
    for record in answer.get("SpotPriceHistory", []):
        record["Timestamp"] = datetime.fromisoformat(record["Timestamp"])
    return answer


class Clock:
    """A settable clock (epoch seconds) for the cache's expiry."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def stubbed(tmp_path, clock):
    """Return a factory of AwsPrices on stubbed clients sharing one cache file, and the stubbers."""
    made = []

    def make():
        session = boto3.session.Session(
            aws_access_key_id="k",
            aws_secret_access_key="s",  # noqa: S106 - a stand-in: the stubbed clients send nothing
            region_name="us-east-1",
        )
        pricing, ec2 = session.client("pricing"), session.client("ec2")
        stubbers = Stubber(pricing), Stubber(ec2)
        for stubber in stubbers:
            stubber.activate()
        made.extend(stubbers)
        cache = PriceCache(tmp_path / "cache" / "prices.json", clock=clock)
        return AwsPrices(pricing=pricing, ec2=ec2, region="us-east-1", cache=cache), *stubbers

    yield make
    for stubber in made:
        stubber.assert_no_pending_responses()


class TestAwsPrices:
    def test_the_on_demand_price_is_asked_with_the_linux_shared_filters_once(self, stubbed):
        """get_products gets exactly the documented filters; a second book reads the cache, asks nothing."""
        prices, pricing, _ = stubbed()
        expected = {"ServiceCode": "AmazonEC2", "Filters": FILTERS, "FormatVersion": "aws_v1"}
        pricing.add_response("get_products", recorded("get_products_m5_large_us_east_1.json"), expected)
        assert prices.on_demand("m5.large") == 0.096
        again, _, _ = stubbed()  # no response queued: any call would fail
        assert again.on_demand("m5.large") == 0.096

    def test_an_expired_price_is_asked_again(self, stubbed, clock):
        """After a week the on-demand price is fetched anew; within it, not."""
        prices, pricing, _ = stubbed()
        pricing.add_response("get_products", recorded("get_products_m5_large_us_east_1.json"))
        prices.on_demand("m5.large")
        clock.now += 6 * 86400
        assert stubbed()[0].on_demand("m5.large") == 0.096  # nothing queued: from the cache
        clock.now += 2 * 86400
        later, later_pricing, _ = stubbed()
        later_pricing.add_response("get_products", recorded("get_products_m5_large_us_east_1.json"))
        assert later.on_demand("m5.large") == 0.096

    def test_the_instance_size_comes_from_describe_instance_types(self, stubbed):
        """DescribeInstanceTypes is asked for the one type."""
        prices, _, ec2 = stubbed()
        ec2.add_response(
            "describe_instance_types",
            recorded("describe_instance_types_m5_large.json"),
            {"InstanceTypes": ["m5.large"]},
        )
        spec = prices.spec("m5.large")
        assert (spec.vcpus, spec.memory_mib) == (2, 8192)

    def test_the_spot_price_is_asked_for_the_run_s_day_and_time_weighted(self, stubbed):
        """Spot history of Linux/UNIX for the UTC day of the run; the zone's prices weighted over the run."""
        prices, _, ec2 = stubbed()
        ec2.add_response(
            "describe_spot_price_history",
            recorded("describe_spot_price_history_m5_large.json"),
            {
                "InstanceTypes": ["m5.large"],
                "ProductDescriptions": ["Linux/UNIX"],
                "StartTime": datetime(2026, 12, 1, tzinfo=UTC),
                "EndTime": datetime(2026, 12, 2, tzinfo=UTC),
            },
        )
        assert prices.spot("m5.large", START, END, "us-east-1b") == pytest.approx(0.039)
        assert prices.spot("m5.large", START, END, "us-east-1a") == pytest.approx(0.036)  # cached day

    def test_a_refused_price_list_is_unpriced_with_the_reason_and_asked_once(self, stubbed):
        """AccessDenied: UnpricedError naming it; the next job of that type does not ask again."""
        prices, pricing, _ = stubbed()
        pricing.add_client_error("get_products", "AccessDeniedException", "not allowed: pricing:GetProducts")
        for _ in range(2):
            with pytest.raises(UnpricedError, match="pricing:GetProducts"):
                prices.on_demand("m5.large")

    def test_a_type_the_price_list_does_not_know_is_unpriced(self, stubbed):
        """No product matches: the reason names the type and region."""
        prices, pricing, _ = stubbed()
        pricing.add_response("get_products", recorded("get_products_no_match.json"))
        with pytest.raises(UnpricedError, match=r"no on-demand Linux price for m5\.large in us-east-1"):
            prices.on_demand("m5.large")


class TestPriceBook:
    def test_the_local_instance_has_the_fixed_figures_and_asks_nothing(self):
        """local.flock: 4 vCPUs, 16 GiB, USD 0.20/h, with or without AWS."""
        quote = PriceBook(None).quote("local.flock", "on-demand", START, END)
        assert (quote.hourly_usd, quote.spec, quote.source) == (0.20, LOCAL_FIGURES.spec, "local figures")

    def test_an_aws_instance_at_a_local_endpoint_is_unpriced(self):
        """A local flock's endpoint has no Price List: the job is unpriced, saying so."""
        with pytest.raises(UnpricedError, match="local flock"):
            PriceBook(None).quote("m5.large", "spot", START, END)

    @pytest.mark.parametrize(
        ("capacity", "source"), [("on-demand", "on-demand"), (None, "on-demand (capacity type unknown)")]
    )
    def test_on_demand_and_unknown_capacity_use_the_price_list(self, stubbed, capacity, source):
        """An unknown capacity type is priced on-demand (the upper bound) and says so."""
        prices, pricing, ec2 = stubbed()
        ec2.add_response("describe_instance_types", recorded("describe_instance_types_m5_large.json"))
        pricing.add_response("get_products", recorded("get_products_m5_large_us_east_1.json"))
        quote = PriceBook(prices).quote("m5.large", capacity, START, END)
        assert (quote.hourly_usd, quote.source) == (0.096, source)
