"""The pricing formula and the readers of AWS's price answers, against recorded answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shepard_cli._cost_model import (
    InstanceSpec,
    instance_specs,
    job_cost,
    job_share,
    on_demand_hourly,
    spot_hourly,
)

RECORDED = Path(__file__).parent / "pricing"
M5_LARGE = InstanceSpec(vcpus=2, memory_mib=8192)


def recorded(name: str):
    return json.loads((RECORDED / name).read_text())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TestFormula:
    @pytest.mark.parametrize(
        ("vcpus", "memory", "share"),
        [(1, 2048, 0.5), (1, 6144, 0.75), (2, 1024, 1.0), (0.25, 512, 0.125), (4, 16384, 1.0)],
    )
    def test_the_share_is_the_larger_of_vcpu_and_memory_shares_at_most_the_instance(
        self, vcpus, memory, share
    ):
        """CPU-bound, memory-bound, whole, fractional and oversize jobs hold these shares of an m5.large."""
        assert job_share(M5_LARGE, vcpus, memory) == share

    def test_cost_is_hourly_price_times_share_times_hours(self):
        """Half an m5.large (USD 0.096/h) for an hour is USD 0.048; for 90 s, 90/3600 of that."""
        assert job_cost(0.096, 0.5, 3600) == pytest.approx(0.048)
        assert job_cost(0.096, 0.5, 90) == pytest.approx(0.0012)
        assert job_cost(0.096, 0.5, -5) == 0.0

    def test_an_instance_without_size_is_refused(self):
        """A zero-sized instance cannot hold a share."""
        with pytest.raises(ValueError, match="vCPUs and memory"):
            job_share(InstanceSpec(vcpus=0, memory_mib=0), 1, 1)


class TestRecordedAnswers:
    def test_the_on_demand_price_is_read_from_the_price_list(self):
        """The OnDemand hourly dimension is taken; the reserved terms and upfront fee are not."""
        assert on_demand_hourly(recorded("get_products_m5_large_us_east_1.json")["PriceList"]) == 0.096

    def test_no_product_is_no_price(self):
        """An empty PriceList gives no price."""
        assert on_demand_hourly(recorded("get_products_no_match.json")["PriceList"]) is None

    def test_a_zero_price_product_is_not_a_price(self):
        """A product whose hourly price is 0 (an unused reservation line) is skipped."""
        [text] = recorded("get_products_m5_large_us_east_1.json")["PriceList"]
        free = text.replace('"USD": "0.0960000000"', '"USD": "0.0000000000"')
        assert on_demand_hourly([free]) is None
        assert on_demand_hourly([free, text]) == 0.096

    def test_instance_sizes_come_from_describe_instance_types(self):
        """DefaultVCpus and SizeInMiB of each type described."""
        assert instance_specs(recorded("describe_instance_types_m5_large.json")) == {"m5.large": M5_LARGE}


class TestSpotPrice:
    HISTORY = recorded("describe_spot_price_history_m5_large.json")["SpotPriceHistory"]

    def test_the_zone_s_price_in_effect_is_used(self):
        """A run within one price period in us-east-1a costs that period's price."""
        price = spot_hourly(self.HISTORY, at("2026-12-01T10:00:00"), at("2026-12-01T10:30:00"), "us-east-1a")
        assert price == pytest.approx(0.036)

    def test_a_run_across_a_price_change_is_time_weighted(self):
        """us-east-1b: 0.038 until 11:30, then 0.040; a run 11:00-12:00 averages them half and half."""
        price = spot_hourly(self.HISTORY, at("2026-12-01T11:00:00"), at("2026-12-01T12:00:00"), "us-east-1b")
        assert price == pytest.approx(0.039)

    def test_an_unknown_zone_averages_the_zones_listed(self):
        """No zone recorded (or one not listed): the mean of the zones' prices over the run."""
        price = spot_hourly(self.HISTORY, at("2026-12-01T10:00:00"), at("2026-12-01T10:30:00"))
        assert price == pytest.approx((0.036 + 0.038) / 2)
        assert spot_hourly(self.HISTORY, at("2026-12-01T10:00:00"), at("2026-12-01T10:30:00"), "eu-west-1a")

    def test_a_run_before_the_first_record_takes_the_earliest_price(self):
        """Before the zone's first listed change, its earliest price stands in."""
        price = spot_hourly(self.HISTORY, at("2026-12-01T01:00:00"), at("2026-12-01T01:00:00"), "us-east-1b")
        assert price == pytest.approx(0.038)

    def test_no_history_is_no_price(self):
        """An empty history gives no price; unreadable records are skipped."""
        assert spot_hourly([], at("2026-12-01T01:00:00"), at("2026-12-01T02:00:00")) is None
        junk = [{"AvailabilityZone": "a", "SpotPrice": "n/a", "Timestamp": "2026-12-01T00:00:00Z"}]
        assert spot_hourly(junk, at("2026-12-01T01:00:00"), at("2026-12-01T02:00:00")) is None
