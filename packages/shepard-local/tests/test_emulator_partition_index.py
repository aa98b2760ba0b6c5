"""A table's record of its index partitions follows every way moto writes items: queries answer as before."""

from __future__ import annotations

import random
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from shepard_local import _emulator_partition_index

GROUPS = ("g0", "g1", "g2", "g3")


def _make_table(client, *, range_key: bool) -> str:
    """Create a table with a (G, T) index and an H index (no sort key); return its name."""
    name = f"jobs-{uuid.uuid4().hex[:12]}"  # the module's server keeps every table
    keys = [{"AttributeName": "UUID", "KeyType": "HASH"}]
    attributes = ["UUID", "G", "T", "H"]
    if range_key:
        keys.append({"AttributeName": "R", "KeyType": "RANGE"})
        attributes.append("R")
    client.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [
                    {"AttributeName": "G", "KeyType": "HASH"},
                    {"AttributeName": "T", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ByH",
                "KeySchema": [{"AttributeName": "H", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _key(n: int, *, range_key: bool) -> dict[str, dict[str, str]]:
    key = {"UUID": {"S": f"u{n:03d}"}}
    if range_key:
        key["R"] = {"S": f"r{n % 2}"}
    return key


def _every_page(client, table: str, index: str, attribute: str, value: str) -> list[tuple[str, ...]]:
    """Return the keys of every item of one index partition, page by page (Limit 3), in index order."""
    found, start = [], None
    while True:
        more = {"ExclusiveStartKey": start} if start else {}
        answer = client.query(
            TableName=table,
            IndexName=index,
            KeyConditionExpression="#a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"S": value}},
            Limit=3,
            **more,
        )
        found += [(item["UUID"]["S"], item.get("R", {}).get("S", "")) for item in answer["Items"]]
        start = answer.get("LastEvaluatedKey")
        if not start:
            return found


def _from_a_scan(client, table: str, attribute: str, value: str, sort: str | None) -> list[tuple[str, ...]]:
    """Return the keys of the items whose `attribute` is `value`, in that index's order, from a scan."""
    items = [item for item in client.scan(TableName=table)["Items"] if item.get(attribute) == {"S": value}]
    if sort:
        items = [item for item in items if sort in item]
    items.sort(
        key=lambda item: (item[sort]["S"] if sort else "", item["UUID"]["S"], item.get("R", {}).get("S", ""))
    )
    return [(item["UUID"]["S"], item.get("R", {}).get("S", "")) for item in items]


class _Writer:
    """Random writes of every kind moto takes, some of them refused by a condition."""

    def __init__(self, client, table: str, *, range_key: bool, seed: int) -> None:
        self.client, self.table, self.range_key = client, table, range_key
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible mix of writes, not a secret

    def _item(self, n: int) -> dict[str, dict[str, str]]:
        item = {**_key(n, range_key=self.range_key), "T": {"S": f"t{self.rng.randrange(100):03d}"}}
        if self.rng.random() < 0.8:
            item["G"] = {"S": self.rng.choice(GROUPS)}
        if self.rng.random() < 0.5:
            item["H"] = {"S": self.rng.choice(("h0", "h1"))}
        return item

    def _update(self, n: int) -> dict[str, object]:
        if self.rng.random() < 0.3:
            return {"UpdateExpression": "REMOVE G"}
        return {
            "UpdateExpression": "SET G = :g, H = :h",
            "ExpressionAttributeValues": {":g": {"S": self.rng.choice(GROUPS)}, ":h": {"S": f"h{n % 2}"}},
        }

    def one(self) -> tuple[str, str | None]:
        """Make one random write; return its kind and the error code AWS answered (None if written)."""
        n = self.rng.randrange(40)
        kind = self.rng.choice(
            ("put", "update", "refused update", "delete", "transaction", "cancelled", "batch")
        )
        key = _key(n, range_key=self.range_key)
        try:
            if kind == "put":
                self.client.put_item(TableName=self.table, Item=self._item(n))
            elif kind in {"update", "refused update"}:
                condition = (
                    {"ConditionExpression": "attribute_exists(NoSuchAttribute)"}
                    if kind == "refused update"
                    else {}
                )
                self.client.update_item(TableName=self.table, Key=key, **self._update(n), **condition)
            elif kind == "delete":
                self.client.delete_item(TableName=self.table, Key=key)
            elif kind in {"transaction", "cancelled"}:
                other = (n + 1) % 40
                refused = (
                    {"ConditionExpression": "attribute_exists(NoSuchAttribute)"}
                    if kind == "cancelled"
                    else {}
                )
                self.client.transact_write_items(
                    TransactItems=[
                        {"Update": {"TableName": self.table, "Key": key, **self._update(n)}},
                        {"Put": {"TableName": self.table, "Item": self._item(other), **refused}},
                    ]
                )
            else:
                self.client.batch_write_item(
                    RequestItems={
                        self.table: [
                            {"PutRequest": {"Item": self._item(n)}},
                            {"DeleteRequest": {"Key": _key((n + 7) % 40, range_key=self.range_key)}},
                        ]
                    }
                )
        except ClientError as exc:
            return kind, exc.response["Error"]["Code"]
        return kind, None


@pytest.mark.parametrize("range_key", [False, True], ids=["hash key", "hash and range key"])
def test_queries_follow_every_kind_of_write(aws_endpoint, amended_items, range_key):
    """After puts, updates, deletes, batches and transactions (refused ones too) each partition is exact."""
    client = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1")
    table = _make_table(client, range_key=range_key)
    writer = _Writer(client, table, range_key=range_key, seed=11 + range_key)
    kinds, refusals = set(), set()
    for step in range(240):
        kind, refused = writer.one()
        kinds.add(kind)
        if refused:
            refusals.add((kind, refused))
        if step % 20 == 19:
            for group in GROUPS:
                assert _every_page(client, table, "ByG", "G", group) == _from_a_scan(
                    client, table, "G", group, "T"
                )
            for value in ("h0", "h1"):  # without a sort key moto orders a partition its own way
                assert sorted(_every_page(client, table, "ByH", "H", value)) == _from_a_scan(
                    client, table, "H", value, None
                )
    assert kinds == {"put", "update", "refused update", "delete", "transaction", "cancelled", "batch"}
    assert refusals == {
        ("refused update", "ConditionalCheckFailedException"),
        ("cancelled", "TransactionCanceledException"),
    }
    assert amended_items  # the answers came from the partition record


def test_a_query_starts_from_its_partition_alone(aws_endpoint, amended_items):
    """A query reads the items of its partition, whatever else the table holds."""
    client = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1")
    table = _make_table(client, range_key=False)
    for n in range(60):
        group = "g0" if n < 5 else "g1"
        client.put_item(
            TableName=table, Item={"UUID": {"S": f"u{n:03d}"}, "G": {"S": group}, "T": {"S": "t"}}
        )
    client.update_item(
        TableName=table,
        Key={"UUID": {"S": "u010"}},
        UpdateExpression="SET G = :g",
        ExpressionAttributeValues={":g": {"S": "g0"}},
    )
    amended_items.clear()
    assert len(_every_page(client, table, "ByG", "G", "g0")) == 6
    assert set(amended_items) == {6}


def test_an_index_added_later_is_recorded(aws_endpoint, amended_items):
    """A global secondary index added to a table with items answers from a record made for it."""
    client = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1")
    table = _make_table(client, range_key=False)
    for n in range(10):
        client.put_item(
            TableName=table,
            Item={"UUID": {"S": f"u{n}"}, "G": {"S": "g0"}, "T": {"S": "t"}, "X": {"S": f"x{n % 3}"}},
        )
    assert len(_every_page(client, table, "ByG", "G", "g0")) == 10
    client.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "X", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "ByX",
                    "KeySchema": [{"AttributeName": "X", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    assert _every_page(client, table, "ByX", "X", "x1") == [("u1", ""), ("u4", ""), ("u7", "")]


def test_install_refuses_a_moto_whose_writes_changed(monkeypatch):
    """If moto's item writes take other parameters, the amendment says so instead of missing writes."""

    def put_item(self, attributes, expected=None):  # a shape this amendment does not know
        return None

    monkeypatch.setattr(Table, "put_item", put_item)
    monkeypatch.setattr(DynamoDBBackend, "update_item", DynamoDBBackend.update_item)
    with pytest.raises(RuntimeError, match=r"Table\.put_item"):
        _emulator_partition_index.install()
