"""The emulator's index queries start from the items their partition key matches, and answer as before."""

from __future__ import annotations

import random
import uuid

import boto3
import pytest
from moto.dynamodb.models.table import Table
from shepard_local import _emulator_index_query


@pytest.fixture
def dynamodb(aws_endpoint, amended_items, monkeypatch):
    """A table with a (G, T) index on moto server (in this process), its queries amended; count the picks."""
    walked: list[int] = []
    matching = _emulator_index_query._matching_items

    def counted(table, conditions):
        found = matching(table, conditions)
        walked.append(len(found))
        return found

    monkeypatch.setattr(_emulator_index_query, "_matching_items", counted)
    client = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1")
    client.table = f"jobs-{uuid.uuid4().hex[:12]}"  # the module's server keeps every table
    client.create_table(
        TableName=client.table,
        KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("UUID", "G", "T")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [
                    {"AttributeName": "G", "KeyType": "HASH"},
                    {"AttributeName": "T", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    rng = random.Random(5)  # noqa: S311 - sort keys in no particular order, not a secret
    for n in range(120):
        item = {
            "UUID": {"S": f"u{n:03d}"},
            "T": {"S": f"t{rng.randrange(1000):04d}#{n:03d}"},
            "K": {"S": "ab"[n % 2]},
        }
        if n % 10:  # every tenth item is not in the index
            item["G"] = {"S": f"g{n % 3}"}
        client.put_item(TableName=client.table, Item=item)
    client.picked = amended_items
    client.walked = walked
    return client


def _query(dynamodb, **arguments):
    """Return every item of a query, following LastEvaluatedKey, and how many pages it took."""
    items, pages, start = [], 0, None
    while True:
        more = {"ExclusiveStartKey": start} if start else {}
        answer = dynamodb.query(TableName=dynamodb.table, IndexName="ByG", **arguments, **more)
        items += answer["Items"]
        pages += 1
        start = answer.get("LastEvaluatedKey")
        if not start:
            return items, pages


def _expected(dynamodb, group, condition=lambda _: True, *, newest_first=False):
    """Return the UUIDs of partition `group` meeting `condition`, in index order."""
    every = dynamodb.scan(TableName=dynamodb.table)["Items"]
    chosen = [item for item in every if item.get("G", {}).get("S") == group and condition(item)]
    chosen.sort(key=lambda item: item["T"]["S"], reverse=newest_first)
    return [item["UUID"]["S"] for item in chosen]


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("limit", [None, 1, 7])
def test_a_partition_in_order_page_by_page(dynamodb, forward, limit):
    """Each page of a partition comes in index order, in both directions, with Limit and its start keys."""
    items, pages = _query(
        dynamodb,
        KeyConditionExpression="G = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
        ScanIndexForward=forward,
        **({"Limit": limit} if limit else {}),
    )
    assert [item["UUID"]["S"] for item in items] == _expected(dynamodb, "g1", newest_first=not forward)
    if limit:
        assert pages >= len(items) // limit
    assert dynamodb.picked
    assert all(count == 36 for count in dynamodb.picked)  # g1's items, not the table's 120
    assert dynamodb.walked == []  # from the partition record, never a walk of the table


def test_range_conditions_and_filters(dynamodb):
    """A range condition and a filter still select what they select."""
    items, _ = _query(
        dynamodb,
        KeyConditionExpression="G = :g AND T BETWEEN :lo AND :hi",
        FilterExpression="K = :k",
        ExpressionAttributeValues={
            ":g": {"S": "g2"},
            ":lo": {"S": "t0200"},
            ":hi": {"S": "t0700"},
            ":k": {"S": "a"},
        },
        ScanIndexForward=False,
        Limit=5,
    )
    expected = _expected(
        dynamodb,
        "g2",
        lambda item: "t0200" <= item["T"]["S"] <= "t0700" and item["K"]["S"] == "a",
        newest_first=True,
    )
    assert [item["UUID"]["S"] for item in items] == expected
    below, _ = _query(
        dynamodb,
        KeyConditionExpression="G = :g AND T < :hi",
        ExpressionAttributeValues={":g": {"S": "g0"}, ":hi": {"S": "t0500"}},
    )
    assert [item["UUID"]["S"] for item in below] == _expected(
        dynamodb, "g0", lambda item: item["T"]["S"] < "t0500"
    )


def test_a_partition_nobody_has(dynamodb):
    """A partition key no item holds gives nothing."""
    items, _ = _query(
        dynamodb, KeyConditionExpression="G = :g", ExpressionAttributeValues={":g": {"S": "none"}}
    )
    assert items == []
    assert dynamodb.picked == [0]


def test_table_queries_are_left_alone(dynamodb):
    """A query of the table itself (no index) goes the way moto always took."""
    answer = dynamodb.query(
        TableName=dynamodb.table,
        KeyConditionExpression="#u = :u",
        ExpressionAttributeNames={"#u": "UUID"},
        ExpressionAttributeValues={":u": {"S": "u005"}},
    )
    assert [item["UUID"]["S"] for item in answer["Items"]] == ["u005"]
    assert dynamodb.picked == []
    assert dynamodb.walked == []


RANGES = {
    "T < :a": ({":a": {"S": "t0500"}}, lambda t: t < "t0500"),
    "T >= :a": ({":a": {"S": "t0500"}}, lambda t: t >= "t0500"),
    "T BETWEEN :a AND :b": ({":a": {"S": "t0100"}, ":b": {"S": "t0300"}}, lambda t: "t0100" <= t <= "t0300"),
    "begins_with(T, :a)": ({":a": {"S": "t06"}}, lambda t: t.startswith("t06")),
}


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("condition", list(RANGES))
def test_only_the_items_within_the_sort_key_condition_are_sorted(dynamodb, monkeypatch, condition, forward):
    """A sort key condition picks its items before moto sorts them; every page is what moto would give."""
    sorted_counts: list[int] = []
    sorted_items = Table.sorted_items

    def counted(table, hash_attrs, range_attrs, items):
        sorted_counts.append(len(items))
        return sorted_items(table, hash_attrs, range_attrs, items)

    monkeypatch.setattr(Table, "sorted_items", counted)
    values, test = RANGES[condition]
    items, pages = _query(
        dynamodb,
        KeyConditionExpression=f"G = :g AND {condition}",
        ExpressionAttributeValues={":g": {"S": "g1"}, **values},
        ScanIndexForward=forward,
        Limit=2,
    )
    expected = _expected(dynamodb, "g1", lambda item: test(item["T"]["S"]), newest_first=not forward)
    assert [item["UUID"]["S"] for item in items] == expected
    assert 0 < len(expected) < 36  # a condition that picks some of g1's 36 items, not all
    assert pages >= len(expected) // 2
    assert set(sorted_counts) == {len(expected)}
