"""The emulator keeps only the model objects something still uses, not every copy moto ever made."""

from __future__ import annotations

import gc
import json
import threading
import urllib.request
from typing import Any

import boto3
import pytest
from shepard_local import _emulator_tracking
from shepard_local._control import LOCAL_CREDENTIALS
from shepard_local._emulator_tracking import WeakInstances

WRITES = 300


def _client(endpoint: str, service: str) -> Any:
    return boto3.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
    ).client(service, endpoint_url=endpoint)


def _tracked(endpoint: str, service: str, model: str) -> list[dict[str, Any]]:
    """Return the instances of one model the emulator's dashboard (`/moto-api/data.json`) lists."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=30) as answer:  # noqa: S310
        return list(json.load(answer).get(service, {}).get(model, []))


class TestTheEmulatorForgetsWhatNothingUses:
    def test_items_written_over_and_read_many_times_are_held_once(self, emulator: str):
        """Writes, transactions, reads and queries of a few rows leave only those rows' items alive."""
        dynamodb = _client(emulator, "dynamodb")
        dynamodb.create_table(
            TableName="tracked",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        before = len(_tracked(emulator, "dynamodb", "Item"))
        for n in range(WRITES):
            key = {"k": {"S": f"row-{n % 3}"}}
            dynamodb.put_item(TableName="tracked", Item={**key, "n": {"N": str(n)}})
            dynamodb.update_item(
                TableName="tracked",
                Key=key,
                UpdateExpression="ADD c :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "tracked",
                            "Key": key,
                            "UpdateExpression": "ADD t :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                ]
            )
            dynamodb.get_item(TableName="tracked", Key=key, ConsistentRead=True)
        dynamodb.scan(TableName="tracked")
        rows = dynamodb.scan(TableName="tracked", ConsistentRead=True)["Items"]
        assert sorted(int(row["n"]["N"]) for row in rows) == [WRITES - 3, WRITES - 2, WRITES - 1]
        assert len(_tracked(emulator, "dynamodb", "Item")) - before == len(rows)

    def test_a_deleted_message_is_let_go_and_a_queued_one_kept(self, emulator: str):
        """SQS messages received and deleted are freed; those still queued stay listed."""
        sqs = _client(emulator, "sqs")
        queue = sqs.create_queue(QueueName="tracked")["QueueUrl"]
        before = len(_tracked(emulator, "sqs", "Message"))
        for n in range(WRITES):
            sqs.send_message(QueueUrl=queue, MessageBody=f"gone-{n}")
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        sqs.send_message(QueueUrl=queue, MessageBody="still queued")
        bodies = [message.get("body") for message in _tracked(emulator, "sqs", "Message")[before:]]
        assert bodies == ["still queued"]

    def test_every_version_a_user_can_still_read_stays(self, emulator: str):
        """Each version of a versioned object is kept (a user can read it) while old copies are let go."""
        s3 = _client(emulator, "s3")
        s3.create_bucket(Bucket="tracked")
        s3.put_bucket_versioning(Bucket="tracked", VersioningConfiguration={"Status": "Enabled"})
        versions = [
            s3.put_object(Bucket="tracked", Key="k", Body=f"v{n}".encode())["VersionId"] for n in range(5)
        ]
        for _ in range(20):
            s3.get_object(Bucket="tracked", Key="k")["Body"].read()
        for n, version in enumerate(versions):
            assert (
                s3.get_object(Bucket="tracked", Key="k", VersionId=version)["Body"].read() == f"v{n}".encode()
            )
        keys = [key for key in _tracked(emulator, "s3", "FakeKey") if key.get("bucket_name") == "tracked"]
        assert len(keys) == len(versions)


class _Model:
    """A stand-in model class: any object that can be weakly held."""


class TestWeakInstances:
    def test_an_instance_is_listed_while_held_and_gone_once_dropped(self):
        tracked = WeakInstances()
        kept, dropped = _Model(), _Model()
        tracked.append(kept)
        tracked.append(dropped)
        assert list(tracked) == [kept, dropped]
        del dropped
        gc.collect()
        assert list(tracked) == [kept]
        assert len(tracked) == 1

    def test_instances_known_before_stay_tracked_in_order(self):
        first, second = _Model(), _Model()
        assert list(WeakInstances([first, second])) == [first, second]

    def test_listing_while_other_threads_make_instances_never_fails(self):
        """The dashboard lists instances while requests on other threads make and drop them."""
        tracked = WeakInstances()
        kept = [_Model() for _ in range(20_000)]
        for instance in kept:
            tracked.append(instance)
        done = threading.Event()

        def make() -> None:
            while not done.is_set():
                tracked.append(_Model())  # dropped at once: freed while listings go on

        makers = [threading.Thread(target=make) for _ in range(3)]
        for maker in makers:
            maker.start()
        try:
            for _ in range(20):
                assert set(map(id, kept)) <= set(map(id, tracked))
        finally:
            done.set()
            for maker in makers:
                maker.join()

    def test_an_object_that_cannot_be_weakly_held_is_not_tracked(self):
        tracked = WeakInstances()
        tracked.append(7)
        assert list(tracked) == []


class TestInstall:
    def test_a_moto_whose_base_model_no_longer_tracks_instances_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ):
        """If moto's BaseModel loses its own __new__, the emulator names what is missing and stops."""
        from moto.core.common_models import BaseModel

        monkeypatch.delattr(BaseModel, "__new__")
        with pytest.raises(RuntimeError, match="BaseModel no longer has its own __new__"):
            _emulator_tracking.install()
