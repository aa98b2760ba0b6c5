"""The usage counters: what an ended job adds, and how counter items sum back into Counts.usage."""

from __future__ import annotations

import pytest
from shepard_core import GroupMove, JobUsage, StatusGroup, UsageKey, UsageSum
from shepard_core._counts import COUNTED_TAG_CHARS, count_deltas, parse_counter_items
from shepard_core._usage_counts import parse_usage_attribute, usage_attributes, usage_deltas

USAGE = JobUsage(
    instance_type="c5.xlarge",
    capacity_type="spot",
    vcpus=1.5,
    memory_mib=2048,
    started_ms=1_000,
    ended_ms=61_000,
)


def _items(deltas: dict[str, int]) -> list[dict[str, dict[str, str]]]:
    """Return one counter item holding `deltas` as DynamoDB numbers."""
    return [{name: {"N": str(value)} for name, value in deltas.items()}]


def test_an_ended_job_adds_its_run_time_and_one_job_under_its_pricing_key() -> None:
    """A move to complete with a usage adds the run milliseconds and a job to its key, besides the counts."""
    deltas = count_deltas([GroupMove(StatusGroup.RUNNING, StatusGroup.COMPLETE, "exp-1", USAGE)])
    counts = parse_counter_items(_items(deltas))
    key = UsageKey(instance_type="c5.xlarge", capacity_type="spot", vcpus=1.5, memory_mib=2048, tag="exp-1")
    assert counts.usage == {key: UsageSum(run_ms=60_000, jobs=1)}
    assert counts.groups[StatusGroup.COMPLETE] == 1


@pytest.mark.parametrize("after", [StatusGroup.COMPLETE, StatusGroup.FAILED])
def test_both_end_groups_count_usage(after: StatusGroup) -> None:
    """A job that failed ran as much as one that completed: both ends count their run time."""
    deltas = count_deltas([GroupMove(StatusGroup.RUNNING, after, None, USAGE)])
    assert parse_counter_items(_items(deltas)).usage[
        UsageKey(instance_type="c5.xlarge", capacity_type="spot", vcpus=1.5, memory_mib=2048)
    ] == UsageSum(60_000, 1)


@pytest.mark.parametrize(
    "move",
    [
        GroupMove(StatusGroup.SUBMITTED, StatusGroup.RUNNING, "t", USAGE),
        GroupMove(StatusGroup.COMPLETE, StatusGroup.COMPLETE, "t", USAGE),
        GroupMove(StatusGroup.RUNNING, StatusGroup.REJECTED, "t", USAGE),
        GroupMove(StatusGroup.RUNNING, StatusGroup.COMPLETE, "t", JobUsage(instance_type="m5.large")),
        GroupMove(StatusGroup.RUNNING, StatusGroup.COMPLETE, "t", None),
    ],
)
def test_moves_that_end_no_run_add_no_usage(move: GroupMove) -> None:
    """No end, no move, a rejection, or no known run time: no usage attribute is touched."""
    assert not [name for name in count_deltas([move]) if name.startswith(("usage", "unpriced"))]


def test_a_job_without_an_instance_type_is_counted_unpriced_by_tag() -> None:
    """Without an instance type the run time goes to the unpriced counter of its TAG."""
    usage = JobUsage(started_ms=0, ended_ms=5_000, vcpus=1, memory_mib=512)
    deltas = count_deltas([GroupMove(StatusGroup.RUNNING, StatusGroup.FAILED, "exp", usage)])
    assert deltas["unpriced:exp"] == 5_000
    assert deltas["unpriced-jobs:exp"] == 1
    counts = parse_counter_items(_items(deltas))
    assert counts.usage == {UsageKey(instance_type=None, tag="exp"): UsageSum(5_000, 1)}


@pytest.mark.parametrize(
    "tag", ["a|b", "100%", "%7C", "a||b|", "x" * (COUNTED_TAG_CHARS + 20), "", "tag:with:colons"]
)
def test_every_key_parses_back_whatever_its_tag(tag: str) -> None:
    """A TAG with the separator, escapes or beyond the counted length parses back as counted."""
    time_name, jobs_name = usage_attributes(USAGE, tag)
    expected = UsageKey(
        instance_type="c5.xlarge",
        capacity_type="spot",
        vcpus=1.5,
        memory_mib=2048,
        tag=tag[:COUNTED_TAG_CHARS],
    )
    assert parse_usage_attribute(time_name) == (expected, "run_ms")
    assert parse_usage_attribute(jobs_name) == (expected, "jobs")


def test_unknown_parts_stay_unknown() -> None:
    """A priced key with no capacity type, vCPUs or memory parses with those parts None."""
    usage = JobUsage(instance_type="local.flock", started_ms=0, ended_ms=1)
    name, _ = usage_attributes(usage, None)
    assert parse_usage_attribute(name) == (UsageKey(instance_type="local.flock"), "run_ms")


def test_without_tags_the_usage_is_counted_under_no_tag() -> None:
    """When a counter item is too large for TAG counts, the run time still counts, without its TAG."""
    deltas = count_deltas(
        [GroupMove(StatusGroup.RUNNING, StatusGroup.COMPLETE, "exp", USAGE)], with_tags=False
    )
    key = UsageKey(instance_type="c5.xlarge", capacity_type="spot", vcpus=1.5, memory_mib=2048)
    assert parse_counter_items(_items(deltas)).usage == {key: UsageSum(60_000, 1)}


def test_sums_add_over_items_and_moves() -> None:
    """Two jobs of one key, on different counter items, sum; a negative run time counts as zero."""
    first = usage_deltas(USAGE, "t")
    second = usage_deltas(JobUsage(**{**USAGE.__dict__, "started_ms": 50_000}), "t")
    backwards = usage_deltas(JobUsage(**{**USAGE.__dict__, "started_ms": 90_000}), "t")
    counts = parse_counter_items([*_items(first), *_items(second), *_items(backwards)])
    assert list(counts.usage.values()) == [UsageSum(60_000 + 11_000, 3)]


def test_other_attributes_are_not_usage() -> None:
    """Group and TAG counts, and malformed usage names, parse as no usage."""
    for name in ["count:complete", "tag:x:complete", "usage:onlyone", "usage:|spot|1|2|t", "usagex:a"]:
        assert parse_usage_attribute(name) is None
