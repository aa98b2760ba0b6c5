"""Each Lambda's inline code, extracted from the generated template, runs on the flock it makes."""

from __future__ import annotations

import fnmatch
import inspect
import json
import sys
from typing import ClassVar
from urllib.parse import unquote_plus

import pytest
from shepard_testing import drain_queue, sqs_event_from_messages

SCHEDULER = "ShepardSchedulerFunction"
ENDPOINT = "ShepardSchedulerFunctionBatchingEndpoint"
RECONCILER = "ShepardReconcilerFunction"
COUNTER_KEY_PREFIX = "shepard#counts#"
"""shepard_core.COUNTER_KEY_PREFIX: the status counter items' key prefix (core is bundled, not installed)."""

pytestmark = pytest.mark.usefixtures("require_handlers")


@pytest.fixture
def flock(stack, monkeypatch):
    """Return the stack, with the S3 -> SQS wiring moto's CloudFormation leaves out done by hand.

    moto applies no bucket notification from a template, and its event source mapping would invoke the
    function inside SendMessage (in Docker); so the mapping is disabled, the notification is set, and the
    tests hand the queue's messages to the handler as Lambda would.
    """
    aws_lambda = stack.client("lambda")
    aws_lambda.update_event_source_mapping(UUID=stack.resources["SchedulerEventSourceMapping"], Enabled=False)
    sqs = stack.client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["SchedulerQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    stack.client("s3").put_bucket_notification_configuration(
        Bucket=stack.outputs["InputsBucket"],
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint)
    return stack


def use_environment_of(stack, logical_id, monkeypatch):
    """Give this process the environment the stack gave the function `logical_id`."""
    for name, value in stack.function_environment(logical_id).items():
        monkeypatch.setenv(name, str(value))


def queued_records(stack):
    """Return the upload queue's messages (S3 test events left out) as the records of an SQS Lambda event."""
    sqs = stack.client("sqs")
    messages = drain_queue(sqs, stack.outputs["SchedulerQueueUrl"])
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:flock-uploads"
    return sqs_event_from_messages(messages, queue_arn=queue_arn)["Records"]


def rows(stack):
    """Return every job row and array manifest (not the status counters), as plain strings."""
    items = stack.client("dynamodb").scan(TableName=stack.outputs["TableName"])["Items"]
    return [
        {name: next(iter(value.values())) for name, value in item.items()}
        for item in items
        if not item["UUID"]["S"].startswith(COUNTER_KEY_PREFIX)
    ]


def batch_jobs(stack):
    """Return the name and id of every job submitted to the flock's job queue."""
    summaries = stack.client("batch").list_jobs(
        jobQueue=stack.outputs["JobQueue"], filters=[{"name": "JOB_NAME", "values": ["*"]}]
    )["jobSummaryList"]
    return {summary["jobName"]: summary["jobId"] for summary in summaries}


class TestSchedulerFunction:
    def test_uploaded_job_zip_becomes_a_row_and_a_batch_job(
        self, flock, import_index, context_for, monkeypatch
    ):
        """A job zip dropped into the inputs bucket becomes one row and one Batch job named by its claim."""
        # GIVEN the scheduler's inline code with its stack environment, and an uploaded job zip
        index = import_index(SCHEDULER)
        use_environment_of(flock, SCHEDULER, monkeypatch)
        zip_bytes = flock.make_zip(
            {"inputs.txt": json.dumps({"greeting": "hello", "TAG": "t1"}), "data.txt": "x"}
        )
        flock.client("s3").put_object(
            Bucket=flock.outputs["InputsBucket"], Key="jobs/first.zip", Body=zip_bytes
        )
        records = queued_records(flock)
        assert records
        # WHEN the queue's messages reach the handler
        response = index.handler({"Records": records}, context_for(flock.resources[SCHEDULER]))
        # THEN every message succeeded, and the row and the Batch job agree on the UUID
        assert response == {"batchItemFailures": []}
        [row] = rows(flock)
        assert row["INPUT_ZIP_NAME"] == "jobs/first.zip"
        assert row["greeting"] == "hello"
        assert row["IS_INVOKED"] == "False"
        assert batch_jobs(flock) == {f"shepard-{row['SHEPARD_ARRAY_CLAIM']}": row["SHEPARD_BATCH_JOB_ID"]}

    def test_job_zip_with_a_reserved_keyword_is_rejected_without_a_batch_job(
        self, flock, import_index, context_for, monkeypatch
    ):
        """A job zip whose inputs.txt sets a reserved keyword gets a rejection report and no Batch job."""
        index = import_index(SCHEDULER)
        use_environment_of(flock, SCHEDULER, monkeypatch)
        zip_bytes = flock.make_zip({"inputs.txt": json.dumps({"UUID": "mine"})})
        flock.client("s3").put_object(Bucket=flock.outputs["InputsBucket"], Key="bad.zip", Body=zip_bytes)

        response = index.handler({"Records": queued_records(flock)}, context_for(flock.resources[SCHEDULER]))

        assert response == {"batchItemFailures": []}
        assert batch_jobs(flock) == {}
        report = flock.client("s3").get_object(
            Bucket=flock.outputs["ErrorsBucket"], Key="rejected/bad.zip.json"
        )
        assert "UUID" in report["Body"].read().decode()


class TestBatchingEndpointFunction:
    def test_direct_invocation_answers_200_and_submits_the_job(
        self, flock, import_index, context_for, monkeypatch
    ):
        """A direct invocation with a JSON object of inputs answers 200 with the UUID of the submitted job."""
        index = import_index(ENDPOINT)
        use_environment_of(flock, ENDPOINT, monkeypatch)

        response = index.handler({"greeting": "hello"}, context_for(flock.resources[ENDPOINT]))

        assert response["statusCode"] == 200, response
        body = json.loads(response["body"])
        [row] = rows(flock)
        assert body["uuid"] == row["UUID"]
        assert row["greeting"] == "hello"
        assert row["IS_INVOKED"] == "True"
        assert batch_jobs(flock) == {f"shepard-{row['SHEPARD_ARRAY_CLAIM']}": body["batch_job_id"]}

    def test_function_url_request_answers_200(self, flock, import_index, context_for, monkeypatch):
        """A function-URL request carries the inputs in its body and answers 200."""
        index = import_index(ENDPOINT)
        use_environment_of(flock, ENDPOINT, monkeypatch)
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "http": {"method": "POST", "path": "/"},
                "requestId": "r-1",
                "stage": "$default",
            },
            "body": json.dumps({"greeting": "from a URL"}),
            "isBase64Encoded": False,
        }

        response = index.handler(event, context_for(flock.resources[ENDPOINT]))

        assert response["statusCode"] == 200, response
        assert rows(flock)[0]["greeting"] == "from a URL"

    def test_reserved_keyword_answers_400_without_a_job(self, flock, import_index, context_for, monkeypatch):
        """Inputs setting a reserved keyword answer 400 and submit nothing."""
        index = import_index(ENDPOINT)
        use_environment_of(flock, ENDPOINT, monkeypatch)

        response = index.handler({"JOB_STATUS": "done"}, context_for(flock.resources[ENDPOINT]))

        assert response["statusCode"] == 400, response
        assert "JOB_STATUS" in response["body"]
        assert batch_jobs(flock) == {}


def scheduled_array(flock, code_of, size=2):
    """Schedule `size` uploads as one array with the scheduler's inline code; return the rows by index."""
    handler, context = code_of(SCHEDULER)
    s3 = flock.client("s3")
    for number in range(size):
        zip_bytes = flock.make_zip({"inputs.txt": json.dumps({"N": str(number), "TAG": "t1"})})
        s3.put_object(Bucket=flock.outputs["InputsBucket"], Key=f"jobs/{number}.zip", Body=zip_bytes)
    assert handler({"Records": queued_records(flock)}, context) == {"batchItemFailures": []}
    return {int(row["SHEPARD_ARRAY_INDEX"]): row for row in rows(flock) if "SHEPARD_ARRAY_INDEX" in row}


def cancelled_event(flock, row):
    """Return the event Batch sends when the row's array child is cancelled before it starts."""
    batch_job_id = row["SHEPARD_BATCH_JOB_ID"]
    job_arn = f"arn:aws:batch:us-east-1:123456789012:job/{batch_job_id}"
    claim = row["SHEPARD_ARRAY_CLAIM"]
    return {
        "version": "0",
        "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": "123456789012",
        "time": "2026-12-07T16:40:40Z",
        "region": "us-east-1",
        "resources": [job_arn],
        "detail": {
            "jobArn": job_arn,
            "jobName": f"shepard-{claim}",
            "jobId": batch_job_id,
            "jobQueue": flock.outputs["JobQueue"],
            "status": "FAILED",
            "statusReason": "Cancelled with shepard cancel",
            "attempts": [],
            "createdAt": 1765125600000,
            "arrayProperties": {"index": int(batch_job_id.rpartition(":")[2])},
            "jobDefinition": flock.outputs["JobDefinition"],
            "container": {"environment": [{"name": "SHEPARD_ARRAY_CLAIM", "value": claim}]},
        },
    }


class TestReconcilerFunction:
    def test_a_cancelled_pending_child_fails_with_the_cancel_reason(self, flock, code_of):
        """The template's reconciler code ends a child Batch cancelled, with the reason and an error zip."""
        array = scheduled_array(flock, code_of)
        handler, context = code_of(RECONCILER)
        answer = handler(cancelled_event(flock, array[1]), context)
        assert answer["kind"] == "recorded"
        after = {row["UUID"]: row for row in rows(flock)}
        assert len(array) == 2
        assert after[array[1]["UUID"]]["JOB_STATUS"] == "job_failed"
        assert "Cancelled with shepard cancel" in after[array[1]["UUID"]]["SHEPARD_FAILURE_REASON"]
        assert after[array[0]["UUID"]]["JOB_STATUS"] == "submitted"
        keys = flock.client("s3").list_objects_v2(Bucket=flock.outputs["ErrorsBucket"])["Contents"]
        assert [key["Key"] for key in keys] == [answer["report_key"]]
        assert answer["report_key"].startswith(f"t1_error@{array[1]['UUID']}_")


class TestBundle:
    @pytest.mark.parametrize(
        ("logical_id", "module"),
        [
            (SCHEDULER, "shepard_scheduler.s3_events"),
            (ENDPOINT, "shepard_scheduler.endpoint"),
            (RECONCILER, "shepard_scheduler.reconciler"),
        ],
    )
    def test_each_function_exposes_its_own_handler(self, import_index, logical_id, module):
        """Each function's index.py exposes `handler` from its own handler module."""
        index = import_index(logical_id)
        assert index.handler.__module__ == module

    def test_shepard_modules_are_served_from_the_template(self, import_index):
        """Every shepard module the handler imports comes from the bundle, as a proper module or package."""
        import_index(SCHEDULER)
        bundled = {"shepard_core", "shepard_zipindex", "shepard_scheduler"}
        loaded = {name: module for name, module in sys.modules.items() if name.split(".")[0] in bundled}
        assert {
            "shepard_core",
            "shepard_zipindex",
            "shepard_scheduler",
            "shepard_scheduler.s3_events",
        } <= set(loaded)
        for name, module in loaded.items():
            assert module.__name__ == name
            assert module.__spec__.origin.startswith("shepard-bundle/")
            assert type(module.__spec__.loader).__name__ == "ShepardBundleImporter"
        assert loaded["shepard_core"].__path__ == ["shepard-bundle/shepard_core"]
        assert not hasattr(loaded["shepard_scheduler.s3_events"], "__path__")

    def test_bundled_source_is_readable_for_tracebacks(self, import_index):
        """The source of a bundled module can be read back (tracebacks and inspect show real lines)."""
        index = import_index(SCHEDULER)
        source = inspect.getsource(sys.modules["shepard_core"])
        assert source == index._SOURCES["shepard_core"]
        assert source.startswith('"""')


class _CallRecorder:
    """Records the IAM action and resource of every AWS call the handler code makes while it is on."""

    def __init__(self):
        self.on = False
        self.calls = set()

    # IAM authorizes each action of a transaction as the single-item call it stands for.
    TRANSACTION_ACTIONS: ClassVar[dict[str, str]] = {
        "Put": "dynamodb:PutItem",
        "Update": "dynamodb:UpdateItem",
        "Delete": "dynamodb:DeleteItem",
        "ConditionCheck": "dynamodb:ConditionCheckItem",
    }

    def record(self, service, operation, params):
        if not self.on:
            return
        if (service, operation) == ("dynamodb", "TransactWriteItems"):
            for item in params["TransactItems"]:
                self.calls.update((self.TRANSACTION_ACTIONS[kind], None) for kind in item)
            return
        action = f"{service}:{operation}"
        if (service, operation) == ("s3", "GetObject") and params.get("VersionId"):
            action = "s3:GetObjectVersion"
        resource = f"{params['Bucket']}/{params['Key']}" if service == "s3" else None
        if (service, operation) == ("dynamodb", "GetItem"):
            resource = params["Key"]["UUID"]["S"]
        self.calls.add((action, resource))

    def actions(self):
        return {action for action, _ in self.calls}

    def keys(self, action):
        return {resource for recorded, resource in self.calls if recorded == action}


@pytest.fixture
def recorder(monkeypatch):
    """Record every AWS call made through botocore while `recorder.on` is true."""
    from botocore.client import BaseClient

    calls = _CallRecorder()
    original = BaseClient._make_api_call

    def make_api_call(client, operation_name, api_params):
        calls.record(client.meta.service_model.signing_name, operation_name, api_params)
        return original(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def _granted(template, role):
    """Return the role's granted actions with their resources, leaving out what the Lambda service uses.

    Logs (the runtime writes them), the upload queue (the event source mapping consumes it) and the
    dead-letter queue (Lambda sends events its retries gave up on) are the platform's calls under the
    function's role, not the code's.
    """
    granted = {}
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Sid"] in {"Logs", "UploadEvents", "DeadLetters"}:
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                granted[action] = statement["Resource"]
    return granted


def _fail_once(monkeypatch, operation):
    """Make the next `operation` call fail as a throttled request would, and later ones go through."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    current = BaseClient._make_api_call
    failed = []

    def make_api_call(client, operation_name, api_params):
        if operation_name == operation and not failed:
            failed.append(operation_name)
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, operation
            )
        return current(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)


@pytest.fixture
def code_of(flock, import_index, context_for, monkeypatch):
    """Return a function giving a Lambda's inline handler, with its stack environment, and a context."""

    def load(logical_id):
        index = import_index(logical_id)
        use_environment_of(flock, logical_id, monkeypatch)
        return index.handler, context_for(flock.resources[logical_id])

    return load


class TestLeastPrivilege:
    def test_scheduler_role_grants_exactly_the_calls_its_code_makes(
        self, flock, code_of, monkeypatch, recorder, template
    ):
        """Every scheduler path (array, reject, resume, versioned zip) uses every grant, and no more."""
        # GIVEN the scheduler's inline code, a versioned inputs bucket and three uploads (two valid)
        handler, context = code_of(SCHEDULER)
        s3 = flock.client("s3")
        bucket = flock.outputs["InputsBucket"]
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        good = flock.make_zip({"inputs.txt": json.dumps({"greeting": "hello"})})
        version = s3.put_object(Bucket=bucket, Key="jobs/versioned.zip", Body=good)["VersionId"]
        s3.put_object(Bucket=bucket, Key="jobs/bad.zip", Body=flock.make_zip({"inputs.txt": "[]"}))
        s3.put_object(Bucket=bucket, Key="jobs/second.zip", Body=flock.make_zip({"inputs.txt": '{"n": "2"}'}))
        records = queued_records(flock)
        for record in records:
            body = json.loads(record["body"])
            for s3_record in body["Records"]:
                if unquote_plus(s3_record["s3"]["object"]["key"]) == "jobs/versioned.zip":
                    s3_record["s3"]["object"]["versionId"] = version  # as real S3 sends it
            record["body"] = json.dumps(body)
        # WHEN they are scheduled, with one SubmitJob failing so the redelivery resumes a row
        _fail_once(monkeypatch, "SubmitJob")
        recorder.on = True
        first = handler({"Records": records}, context)
        second = handler({"Records": records}, context)
        recorder.on = False
        # THEN the calls made are exactly the role's grants, and reports stay under rejected/
        assert first["batchItemFailures"]
        assert second == {"batchItemFailures": []}
        granted = _granted(template, "SchedulerRole")
        assert recorder.actions() == set(granted)
        errors = flock.outputs["ErrorsBucket"]
        assert recorder.keys("s3:PutObject") == {f"{errors}/rejected/jobs/bad.zip.json"}

    def test_endpoint_role_grants_exactly_the_calls_its_code_makes(
        self, flock, code_of, monkeypatch, recorder, template
    ):
        """Every endpoint path (submit, reject, resume, a list as an array) uses every grant, no more."""
        handler, context = code_of(ENDPOINT)
        _fail_once(monkeypatch, "SubmitJob")
        recorder.on = True
        failed = handler({"greeting": "hello"}, context)
        retried = handler({"greeting": "hello"}, context)
        context.aws_request_id = "another-request"
        rejected = handler({"LD_PRELOAD": "/x.so"}, context)
        context.aws_request_id = "a-list"
        listed = handler([{"greeting": "one"}, {"greeting": "two"}], context)
        recorder.on = False
        statuses = [failed["statusCode"], retried["statusCode"], rejected["statusCode"], listed["statusCode"]]
        assert statuses == [500, 200, 400, 200]
        assert recorder.actions() == set(_granted(template, "BatchingEndpointRole"))
        [report] = recorder.keys("s3:PutObject")
        assert report.startswith(f"{flock.outputs['ErrorsBucket']}/rejected/api/")

    def test_reconciler_role_grants_exactly_the_calls_its_code_makes(
        self, flock, code_of, recorder, template
    ):
        """Recording an end and repeating it use every grant: manifest and row reads, row writes, zips."""
        array = scheduled_array(flock, code_of)
        handler, context = code_of(RECONCILER)
        event = cancelled_event(flock, array[0])
        recorder.on = True
        first, again = handler(event, context), handler(event, context)
        recorder.on = False
        assert (first["kind"], again["kind"]) == ("recorded", "left_alone")
        assert recorder.actions() == set(_granted(template, "ReconcilerRole"))
        read = recorder.keys("dynamodb:GetItem")
        assert array[0]["UUID"] in read
        assert all(key.startswith("SHEPARD_ARRAY#") for key in read - {array[0]["UUID"]})
        [report] = recorder.keys("s3:PutObject")
        assert report == f"{flock.outputs['ErrorsBucket']}/{first['report_key']}"
        assert fnmatch.fnmatchcase(report, f"{flock.outputs['ErrorsBucket']}/*error@*.zip")
