"""Sharded counters and list keys: the deltas a move makes, the counter update, and reading counts back."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shepard_core import (
    COUNTER_SHARDS,
    LIST_GROUP,
    LIST_SHARDS,
    LIST_TAG,
    LIST_TIME,
    CountedWriteGaveUpError,
    CountedWriteRefusedError,
    GroupMove,
    StatusGroup,
    counter_keys,
    is_counter_key,
    list_attributes,
    list_partitions,
    parse_counter_items,
    transact_counted,
)
from shepard_core._counts import count_deltas, counter_action, list_shard

S, R, C, F = StatusGroup.SUBMITTED, StatusGroup.RUNNING, StatusGroup.COMPLETE, StatusGroup.FAILED


def _apply(items: dict[str, dict[str, Any]], action: dict[str, Any]) -> None:
    """Apply a counter action's ADD clauses to in-memory items, as DynamoDB would."""
    update = action["Update"]
    item = items.setdefault(update["Key"]["UUID"]["S"], {})
    for clause in update["UpdateExpression"].removeprefix("ADD ").split(", "):
        name, value = clause.split(" ")
        attribute = update["ExpressionAttributeNames"][name]
        old = int(item.get(attribute, {"N": "0"})["N"])
        item[attribute] = {"N": str(old + int(update["ExpressionAttributeValues"][value]["N"]))}


def test_a_job_life_counts_once_in_its_final_group() -> None:
    """Creation, start and end of one job leave it counted once, in its final group and TAG."""
    items: dict[str, dict[str, Any]] = {}
    rng = random.Random(7)  # noqa: S311 - shard choice, not secrecy
    for move in (
        GroupMove(None, S, "t1"),
        GroupMove(S, R, "t1"),
        GroupMove(R, R, "t1"),
        GroupMove(R, C, "t1"),
    ):
        deltas = count_deltas([move])
        if deltas:
            _apply(items, counter_action("jobs", deltas, rng.randrange(COUNTER_SHARDS)))
    counts = parse_counter_items(items.values())
    assert counts.groups[C] == 1
    assert counts.total == 1
    assert counts.tags == {"t1": {S: 0, R: 0, C: 1, F: 0, StatusGroup.REJECTED: 0}}


def test_a_move_within_a_group_changes_nothing() -> None:
    """in_progress -> calling_payload_code stays in running: no counter update is due."""
    assert count_deltas([GroupMove(R, R, "x")]) == {}


def test_batched_creations_net_into_one_update() -> None:
    """99 new rows make one delta per attribute, not 99 updates."""
    deltas = count_deltas([GroupMove(None, S, "a")] * 60 + [GroupMove(None, S, None)] * 39)
    assert deltas == {"count:submitted": 99, "tag:a:submitted": 60}


def test_without_tags_only_groups_are_counted() -> None:
    """The fallback for a counter item too large to take a new TAG counts groups only."""
    assert count_deltas([GroupMove(S, F, "a")], with_tags=False) == {"count:submitted": -1, "count:failed": 1}


def test_long_tags_are_counted_under_their_first_100_characters() -> None:
    """Two TAGs alike in their first 100 characters share one count; a TAG holding ':' survives parsing."""
    a, b = "x" * 100 + "a", "x" * 100 + "b"
    deltas = count_deltas([GroupMove(None, S, a), GroupMove(None, S, b), GroupMove(None, S, "p:q")])
    counts = parse_counter_items([{name: {"N": str(v)} for name, v in deltas.items()}])
    assert counts.tags["x" * 100][S] == 2
    assert counts.tags["p:q"][S] == 1


def test_negative_sums_show_as_zero() -> None:
    """A row older than the counters leaving its group does not make a count negative."""
    counts = parse_counter_items([{"count:submitted": {"N": "-3"}, "count:running": {"N": "3"}}])
    assert counts.groups[S] == 0
    assert counts.groups[R] == 3


def test_counter_keys_are_not_job_keys() -> None:
    """Every counter key is recognised as one, and a job UUID is not."""
    keys = counter_keys()
    assert len(keys) == COUNTER_SHARDS == len(set(keys))
    assert all(is_counter_key(key) for key in keys)
    assert not is_counter_key("0b7e4a1c-2f7d-4c39-9f59-4d8c1b7a0e11")


@given(st.uuids())
def test_list_attributes_share_the_rows_shard(uuid: Any) -> None:
    """A row's group and TAG partition keys carry the same shard, one of list_partitions."""
    key = str(uuid)
    attributes = list_attributes(key, S, "2026-12-07T10:00:00.000Z", "t")
    shard = list_shard(key)
    assert attributes[LIST_GROUP]["S"] == f"submitted#{shard:02d}"
    assert attributes[LIST_TAG]["S"] in list_partitions("t")
    assert attributes[LIST_TIME]["S"] == f"2026-12-07T10:00:00.000Z#{key}"
    assert 0 <= shard < LIST_SHARDS


def test_untagged_rows_have_no_tag_key() -> None:
    """A row without TAG stays out of the TAG index."""
    assert LIST_TAG not in list_attributes("u", S, "t", None)


class _CancelledError(Exception):
    """A botocore-shaped TransactionCanceledException, as DynamoDB answers it."""

    def __init__(self, codes: list[str], item: dict[str, Any] | None = None) -> None:
        reasons: list[dict[str, Any]] = [{"Code": code} for code in codes]
        if item is not None:
            reasons[0]["Item"] = item
        self.response = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}
        super().__init__(codes)


class _Table:
    """A client that fails the first transactions with the given errors, then records what it applied."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.applied: list[list[dict[str, Any]]] = []
        self.tried: list[list[dict[str, Any]]] = []

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.tried.append(kwargs["TransactItems"])
        if self.failures:
            raise self.failures.pop(0)
        self.applied.append(kwargs["TransactItems"])
        return {}


ROW = {"Update": {"TableName": "jobs", "Key": {"UUID": {"S": "u"}}, "UpdateExpression": "SET #s = :s"}}


def test_a_conflict_is_retried_on_a_fresh_shard() -> None:
    """A TransactionConflict on the counter item is retried; the row and one counter update land once."""
    table = _Table([_CancelledError(["None", "TransactionConflict"])] * 3)
    transact_counted(
        table,
        "jobs",
        [ROW],
        [GroupMove(S, R)],
        rng=random.Random(1),  # noqa: S311 - shard choice, not secrecy
        sleep=lambda _: None,
    )
    assert len(table.applied) == 1
    assert len(table.tried) == 4
    assert len({actions[1]["Update"]["Key"]["UUID"]["S"] for actions in table.tried}) > 1


def test_a_false_row_condition_is_refused_with_the_row() -> None:
    """ConditionalCheckFailed on a row action raises CountedWriteRefusedError naming it, untried again."""
    table = _Table([_CancelledError(["ConditionalCheckFailed", "None"], {"UUID": {"S": "u"}})])
    with pytest.raises(CountedWriteRefusedError) as refused:
        transact_counted(table, "jobs", [ROW], [GroupMove(S, R)], sleep=lambda _: None)
    assert refused.value.refused == {0: {"UUID": {"S": "u"}}}
    assert len(table.tried) == 1


def test_a_counter_item_too_large_drops_the_tag_counts() -> None:
    """A ValidationError on the counter update is retried without TAG counts, and the status write lands."""
    table = _Table([_CancelledError(["None", "ValidationError"])])
    transact_counted(table, "jobs", [ROW], [GroupMove(S, R, "tag")], sleep=lambda _: None)
    names = table.applied[0][1]["Update"]["ExpressionAttributeNames"].values()
    assert sorted(names) == ["count:running", "count:submitted"]


def test_endless_conflicts_give_up() -> None:
    """A transaction that conflicts every time ends in CountedWriteGaveUpError after `tries`."""
    table = _Table([_CancelledError(["TransactionConflict", "None"])] * 5)
    with pytest.raises(CountedWriteGaveUpError):
        transact_counted(table, "jobs", [ROW], [GroupMove(S, R)], sleep=lambda _: None, tries=5)
    assert not table.applied


def test_a_move_that_changes_no_count_writes_the_row_alone() -> None:
    """Without a group change the transaction holds the row action only."""
    table = _Table([])
    transact_counted(table, "jobs", [ROW], [GroupMove(R, R)], sleep=lambda _: None)
    assert table.applied == [[ROW]]
