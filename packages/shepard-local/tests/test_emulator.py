"""The flock's AWS emulator: every upload is an event of its own, as on AWS; one upload stays one event."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from shepard_core import job_id_for_s3_object
from shepard_local import _emulator
from shepard_local._control import LOCAL_CREDENTIALS

MIB = 1024 * 1024


def _session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
    )


class _Bucket:
    """A bucket of the emulator whose object-created events go to a queue of its own."""

    def __init__(self, endpoint: str, name: str, *, versioned: bool) -> None:
        session = _session()
        self.name = name
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.s3.create_bucket(Bucket=name)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.queue = self.sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        self.events()  # the configuration's test event

    def events(self) -> list[dict[str, Any]]:
        """Return the S3 records queued so far, removing them from the queue."""
        records: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return records
            for message in messages:
                records += json.loads(message["Body"]).get("Records", [])
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def job_ids(self, records: list[dict[str, Any]]) -> set[str]:
        """Return the job UUIDs the scheduler derives from these records."""
        return {
            job_id_for_s3_object(
                record["s3"]["bucket"]["name"],
                urllib.parse.unquote_plus(record["s3"]["object"]["key"]),
                version_id=record["s3"]["object"].get("versionId"),
                etag=record["s3"]["object"]["eTag"],
                sequencer=record["s3"]["object"].get("sequencer"),
            )
            for record in records
        }


class TestEachUploadIsItsOwnEvent:
    @pytest.mark.parametrize("kind", ["versioned", "unversioned"])
    def test_the_same_bytes_uploaded_twice_to_one_key_are_two_jobs(self, emulator: str, kind: str):
        """Two PUTs of identical bytes give two events with growing sequencers, hence two job ids."""
        # GIVEN a bucket whose events are queued
        versioned = kind == "versioned"
        bucket = _Bucket(emulator, f"twice-{kind}", versioned=versioned)

        # WHEN the same bytes are uploaded twice to the same key
        for _ in range(2):
            bucket.s3.put_object(Bucket=bucket.name, Key="jobs/a job.zip", Body=b"the same bytes")

        # THEN two events arrive, with the same ETag but sequencers that grow
        records = bucket.events()
        assert len(records) == 2
        objects = [record["s3"]["object"] for record in records]
        assert objects[0]["eTag"] == objects[1]["eTag"]
        sequencers = sorted(obj["sequencer"] for obj in objects)
        assert sequencers[0] < sequencers[1]
        assert all(len(sequencer) == 16 for sequencer in sequencers)
        # AND a versioned bucket names each version, as S3 does; an unversioned one names none
        stored = bucket.s3.list_object_versions(Bucket=bucket.name)["Versions"] if versioned else []
        assert {obj.get("versionId") for obj in objects} == (
            {version["VersionId"] for version in stored} if versioned else {None}
        )
        # AND the scheduler makes two jobs of them
        assert len(bucket.job_ids(records)) == 2

    def test_the_same_event_delivered_again_is_still_one_job(self, emulator: str):
        """An event's identity is fixed when it is sent: a redelivered copy derives the same job id."""
        bucket = _Bucket(emulator, "redelivered", versioned=True)
        bucket.s3.put_object(Bucket=bucket.name, Key="job.zip", Body=b"x")
        records = bucket.events()
        assert len(bucket.job_ids(records + json.loads(json.dumps(records)))) == 1

    @pytest.mark.parametrize("kind", ["versioned", "unversioned"])
    def test_one_multipart_upload_is_one_job(self, emulator: str, kind: str):
        """The emulator's two events for one multipart upload name one object: one job, as on AWS."""
        # GIVEN a bucket whose events are queued
        bucket = _Bucket(emulator, f"multipart-{kind}", versioned=kind == "versioned")

        # WHEN a 12 MiB object is uploaded in 5 MiB parts
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
        bucket.s3.upload_fileobj(io.BytesIO(os.urandom(12 * MIB)), bucket.name, "big.zip", Config=config)

        # THEN both of its events carry the same identity
        records = bucket.events()
        assert [record["eventName"] for record in records] == [
            "ObjectCreated:Put",
            "ObjectCreated:CompleteMultipartUpload",
        ]
        assert len({json.dumps(record["s3"]["object"], sort_keys=True) for record in records}) == 1
        assert len(bucket.job_ids(records)) == 1

    def test_a_copy_is_an_upload_of_its_own(self, emulator: str):
        """A copied object is a new upload: its event has a sequencer and a version of its own."""
        bucket = _Bucket(emulator, "copied", versioned=True)
        bucket.s3.put_object(Bucket=bucket.name, Key="a.zip", Body=b"x")
        bucket.s3.copy_object(
            Bucket=bucket.name, Key="b.zip", CopySource={"Bucket": bucket.name, "Key": "a.zip"}
        )
        records = bucket.events()
        assert [record["eventName"] for record in records] == ["ObjectCreated:Put", "ObjectCreated:Copy"]
        objects = [record["s3"]["object"] for record in records]
        assert objects[0]["sequencer"] < objects[1]["sequencer"]
        assert objects[0]["versionId"] != objects[1]["versionId"]


class TestInstall:
    def test_a_moto_that_builds_events_differently_is_refused_by_name(self, monkeypatch: pytest.MonkeyPatch):
        """When moto's event builder changes shape, the emulator refuses to start and says what is missing."""
        from moto.s3 import notifications

        def changed(event_name: str, bucket: object, key: object) -> dict[str, object]:
            return {}

        monkeypatch.setattr(notifications, _emulator.EVENT_BUILDER, changed)
        with pytest.raises(_emulator.EmulatorMismatchError, match="cannot tell two uploads"):
            _emulator.install()
        assert getattr(notifications, _emulator.EVENT_BUILDER) is changed

    def test_a_moto_without_a_dynamodb_call_is_refused_by_name(self, monkeypatch: pytest.MonkeyPatch):
        """When moto's DynamoDB backend lacks a call the lock must cover, the emulator names it and stops."""
        from moto.dynamodb.models import DynamoDBBackend
        from moto.s3 import notifications

        build = getattr(notifications, _emulator.EVENT_BUILDER)
        monkeypatch.delattr(DynamoDBBackend, "transact_write_items")
        with pytest.raises(_emulator.EmulatorMismatchError, match="no transact_write_items"):
            _emulator.install()
        assert getattr(notifications, _emulator.EVENT_BUILDER) is build


class TestTransactionsAreIsolated:
    def test_a_failed_transaction_never_undoes_another_request_s_write(self, emulator: str):
        """Writes made while transactions on the same table are cancelled all stay, as on DynamoDB."""
        # GIVEN a table holding a counter and 3,000 other rows (moto copies the table for each transaction)
        dynamodb = _session().client("dynamodb", endpoint_url=emulator)
        table = "isolation"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName=table, Item={"k": {"S": "counter"}, "n": {"N": "0"}})
        for start in range(0, 3000, 25):
            rows = [
                {"PutRequest": {"Item": {"k": {"S": f"row-{n}"}, "pad": {"S": "x" * 200}}}}
                for n in range(start, start + 25)
            ]
            dynamodb.batch_write_item(RequestItems={table: rows})

        # WHEN transactions whose condition fails run without pause while four clients add 1 to the counter
        stop = threading.Event()
        cancelled = 0

        def cancel_transactions() -> None:
            nonlocal cancelled
            while not stop.is_set():
                with contextlib.suppress(dynamodb.exceptions.TransactionCanceledException):
                    dynamodb.transact_write_items(
                        TransactItems=[
                            {
                                "ConditionCheck": {
                                    "TableName": table,
                                    "Key": {"k": {"S": "row-1"}},
                                    "ConditionExpression": "attribute_exists(absent)",
                                }
                            }
                        ]
                    )
                cancelled += 1

        def add(times: int) -> None:
            client = _session().client("dynamodb", endpoint_url=emulator)
            for _ in range(times):
                client.update_item(
                    TableName=table,
                    Key={"k": {"S": "counter"}},
                    UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )

        canceller = threading.Thread(target=cancel_transactions)
        canceller.start()
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(add, [100] * 4))
        finally:
            stop.set()
            canceller.join()

        # THEN every addition stayed (moto alone loses some: a cancelled transaction puts back its copy)
        assert cancelled > 10
        item = dynamodb.get_item(TableName=table, Key={"k": {"S": "counter"}}, ConsistentRead=True)["Item"]
        assert item["n"] == {"N": "400"}


def _table_with_rows(dynamodb: Any, table: str) -> None:
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rows = {
        "updated": {"n": {"N": "1"}, "tags": {"SS": ["a", "b"]}, "doc": {"M": {"x": {"L": [{"S": "y"}]}}}},
        "deleted": {"blob": {"B": b"\x00\x01"}, "n": {"N": "7"}},
        "replaced": {"n": {"N": "3"}},
        "bystander": {"n": {"N": "9"}},
    }
    for key, attributes in rows.items():
        dynamodb.put_item(TableName=table, Item={"k": {"S": key}, **attributes})


def _rows(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["k"]["S"]: item for item in items}


class TestTransactionsSaveOnlyTheirRows:
    @pytest.mark.parametrize("failing", ["first", "last"])
    def test_a_cancelled_transaction_leaves_every_row_as_it_was(self, emulator: str, failing: str):
        """Updates, puts, deletes and replacements of a cancelled transaction are all undone, to the byte."""
        # GIVEN a table with rows of sets, maps, lists and binary values
        dynamodb = _session().client("dynamodb", endpoint_url=emulator)
        table = f"undo-{failing}"
        _table_with_rows(dynamodb, table)
        before = _rows(dynamodb, table)
        check = {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"k": {"S": "bystander"}},
                "ConditionExpression": "attribute_not_exists(k)",
            }
        }
        writes = [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"k": {"S": "updated"}},
                    "UpdateExpression": "SET n = :two ADD tags :c",
                    "ExpressionAttributeValues": {":two": {"N": "2"}, ":c": {"SS": ["c"]}},
                }
            },
            {"Put": {"TableName": table, "Item": {"k": {"S": "new"}, "n": {"N": "5"}}}},
            {"Put": {"TableName": table, "Item": {"k": {"S": "replaced"}, "other": {"S": "z"}}}},
            {"Delete": {"TableName": table, "Key": {"k": {"S": "deleted"}}}},
        ]
        items = [check, *writes] if failing == "first" else [*writes, check]

        # WHEN a transaction writing them all is cancelled by its condition check
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=items)

        # THEN the table holds exactly what it held before
        assert _rows(dynamodb, table) == before

    def test_a_transaction_that_succeeds_writes_every_row(self, emulator: str):
        """A transaction whose conditions hold writes each of its rows and leaves the others alone."""
        dynamodb = _session().client("dynamodb", endpoint_url=emulator)
        table = "undo-none"
        _table_with_rows(dynamodb, table)
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"k": {"S": "new"}, "n": {"N": "5"}}}},
                {"Delete": {"TableName": table, "Key": {"k": {"S": "deleted"}}}},
            ]
        )
        rows = _rows(dynamodb, table)
        assert set(rows) == {"updated", "replaced", "bystander", "new"}
        assert rows["new"]["n"] == {"N": "5"}


class TestQueueRetention:
    def test_a_message_past_its_queue_s_retention_is_not_valid(self):
        """The retention check compares a message's age with its own queue's period."""
        from shepard_local._emulator_scaling import _retained

        class Queue:
            message_retention_period = 60

        class Backend:
            def get_queue(self, name: str) -> Queue:
                assert name == "q"
                return Queue()

        class Message:
            def __init__(self, age_seconds: float) -> None:
                self.sent_timestamp = (time.time() - age_seconds) * 1000

        assert _retained(Backend(), "q", Message(10))
        assert not _retained(Backend(), "q", Message(61))

    def test_many_queued_messages_are_all_received_once(self, emulator: str):
        """Every one of 300 queued messages is received exactly once."""
        sqs = _session().client("sqs", endpoint_url=emulator)
        queue = sqs.create_queue(QueueName="long-queue")["QueueUrl"]
        for start in range(0, 300, 10):
            sqs.send_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)],
            )
        bodies: list[str] = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            bodies += [message["Body"] for message in messages]
        assert sorted(bodies, key=int) == [str(n) for n in range(300)]


class TestJobQueueListing:
    def test_a_queue_lists_an_array_once_and_the_array_lists_its_children(self, emulator: str):
        """ListJobs of a queue names each array job once, as Batch does; with arrayJobId, its children."""
        # GIVEN a Batch queue of the emulator (no Docker), an array job of 3 and a plain job
        config = urllib.request.Request(  # noqa: S310 - the emulator's own URL
            f"{emulator}/moto-api/config",
            data=json.dumps({"batch": {"use_docker": False}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(config, timeout=10).close()  # noqa: S310 - the emulator's own URL
        session = _session()
        batch = session.client("batch", endpoint_url=emulator)
        role = session.client("iam", endpoint_url=emulator).create_role(
            RoleName="batch", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        environment = batch.create_compute_environment(
            computeEnvironmentName="env", type="UNMANAGED", state="ENABLED", serviceRole=role
        )["computeEnvironmentArn"]
        batch.create_job_queue(
            jobQueueName="listing",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )
        batch.register_job_definition(
            jobDefinitionName="def",
            type="container",
            containerProperties={"image": "busybox", "vcpus": 1, "memory": 128},
        )
        array = batch.submit_job(
            jobName="a", jobQueue="listing", jobDefinition="def", arrayProperties={"size": 3}
        )
        plain = batch.submit_job(jobName="p", jobQueue="listing", jobDefinition="def")

        # WHEN the queue and the array are listed
        listed = batch.list_jobs(jobQueue="listing")["jobSummaryList"]
        children = batch.list_jobs(arrayJobId=array["jobId"])["jobSummaryList"]

        # THEN the queue holds the two jobs submitted, and the array its three children
        assert sorted(job["jobId"] for job in listed) == sorted([array["jobId"], plain["jobId"]])
        assert sorted(job["jobId"] for job in children) == [f"{array['jobId']}:{n}" for n in range(3)]
