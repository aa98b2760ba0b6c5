"""The flock's dashboard, alarms and alarm topic: created in the emulator, and naming only emitted metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

WORKER_METRICS = (
    Path(__file__).resolve().parents[2]
    / "packages"
    / "shepard-worker"
    / "src"
    / "shepard_worker"
    / "_metrics.py"
)
AWS_METRICS = {
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
    "AWS/Lambda": {"Errors", "Throttles"},
}
"""The AWS namespace metrics the dashboard and alarms may name (SQS queue and Lambda function metrics)."""
ALARMS = ("DeadLetterQueueAlarm", "SchedulerErrorsAlarm", "FailedJobRateAlarm", "OldestUploadAlarm")
PROJECT = "${ProjectName}"


def _worker_metrics() -> Any:
    """Return the worker's metrics module (stdlib only), loaded from its source."""
    spec = importlib.util.spec_from_file_location("worker_metrics", WORKER_METRICS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """Return the dashboard's body with ${...} names kept as written (the project stays "${ProjectName}")."""
    body, names = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{(\w+)\}", lambda m: str(names.get(m.group(1), "${" + m.group(1) + "}")), body)
    text = re.sub(r"\$\{(AWS::\w+)\}", r"${\1}", text)
    return json.loads(text)


def _dashboard_metrics(template: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """Return (namespace, metric, dimensions) of every metric line of every dashboard widget."""
    found = []
    for widget in _dashboard_body(template)["widgets"]:
        for line in widget["properties"]["metrics"]:
            parts = [part for part in line if isinstance(part, str)]
            namespace, name, *pairs = parts
            found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def _alarm_metrics(template: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """Return (namespace, metric, dimensions) of every metric an alarm watches."""

    def text(value: Any) -> str:
        return PROJECT if value == {"Ref": "ProjectName"} else str(value)

    found = []
    for logical_id in ALARMS:
        properties = template["Resources"][logical_id]["Properties"]
        metrics = [q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q]
        if "MetricName" in properties:
            metrics.append(properties)
        for metric in metrics:
            dimensions = {d["Name"]: text(d["Value"]) for d in metric.get("Dimensions", [])}
            found.append((text(metric["Namespace"]), metric["MetricName"], dimensions))
    return found


class TestEmittedMetrics:
    def test_every_metric_named_is_emitted_by_the_code_or_aws(self, template, import_index):
        """Each dashboard and alarm metric is AWS's, or the scheduler's or worker's with their dimensions."""
        # GIVEN the scheduler's metric names from its inline code and the worker's from its module
        import_index("ShepardSchedulerFunction")
        scheduler = sys.modules["shepard_scheduler._observability"]
        worker = _worker_metrics()
        named = _dashboard_metrics(template) + _alarm_metrics(template)
        # THEN every metric is known, with the dimensions its publisher gives it
        assert len(named) > 20
        for namespace, name, dimensions in named:
            if namespace.startswith("AWS/"):
                assert name in AWS_METRICS[namespace], (namespace, name)
                continue
            assert namespace == PROJECT
            if name in scheduler.METRIC_NAMES:
                assert dimensions == {"service": scheduler.SERVICE}, name
            else:
                assert name in worker.UNITS, name
                assert dimensions == {worker.PROJECT_DIMENSION: PROJECT}, name

    def test_the_dashboard_shows_what_an_operator_watches(self, template):
        """Scheduling outcomes and latency, queues, jobs, time percentiles and Lambda health are shown."""
        names = {name for _, name, _ in _dashboard_metrics(template)}
        assert {"JobsScheduled", "JobsRejected", "DuplicatesSkipped", "SchedulingFailures"} <= names
        assert {
            "SchedulingLatency",
            "JobsCompleted",
            "JobsFailed",
            "PayloadSeconds",
            "UploadSeconds",
        } <= names
        assert {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateAgeOfOldestMessage",
            "Errors",
            "Throttles",
        } <= names
        stats = {
            (line[1], line[-1].get("stat"))
            for widget in _dashboard_body(template)["widgets"]
            for line in widget["properties"]["metrics"]
            if isinstance(line[-1], dict)
        }
        for metric in ("PayloadSeconds", "UploadSeconds", "SchedulingLatency"):
            assert {(metric, "p50"), (metric, "p90"), (metric, "p99")} <= stats


class TestAlarms:
    def test_every_alarm_notifies_the_topic(self, template):
        """Each alarm sends to the flock's alarm topic and treats no data as fine."""
        for logical_id in ALARMS:
            properties = template["Resources"][logical_id]["Properties"]
            assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
            assert properties["TreatMissingData"] == "notBreaching"
            assert properties["ComparisonOperator"] == "GreaterThanThreshold"

    def test_thresholds_come_from_parameters_with_sensible_defaults(self, template):
        """Failed-job rate and oldest upload age are parameters; dead letters alarm at any message."""
        resources, parameters = template["Resources"], template["Parameters"]
        rate = resources["FailedJobRateAlarm"]["Properties"]
        assert rate["Threshold"] == {"Ref": "FailedJobRateAlarmThreshold"}
        assert float(parameters["FailedJobRateAlarmThreshold"]["Default"]) == 0.1
        [expression] = [q for q in rate["Metrics"] if q.get("ReturnData")]
        assert "failed / (failed + completed)" in expression["Expression"]
        assert {q["MetricStat"]["Period"] for q in rate["Metrics"] if "MetricStat" in q} == {900}
        oldest = resources["OldestUploadAlarm"]["Properties"]
        assert oldest["Threshold"] == {"Ref": "OldestUploadAgeAlarmSeconds"}
        assert int(parameters["OldestUploadAgeAlarmSeconds"]["Default"]) == 900
        assert resources["DeadLetterQueueAlarm"]["Properties"]["Threshold"] == 0
        dimensions = resources["DeadLetterQueueAlarm"]["Properties"]["Dimensions"]
        assert dimensions == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SchedulerDeadLetterQueue", "QueueName"]}}
        ]

    def test_contact_email_subscribes_only_when_set(self, template):
        """The e-mail subscription exists only under a condition that excludes an empty or "unset" address."""
        subscription = template["Resources"]["AlarmEmailSubscription"]
        assert subscription["Condition"] == "HasContactEmail"
        assert subscription["Properties"]["Endpoint"] == {"Ref": "ContactEmail"}
        condition = json.dumps(template["Conditions"]["HasContactEmail"])
        assert '"Fn::Equals": [{"Ref": "ContactEmail"}, ""]' in condition
        assert '"Fn::Equals": [{"Ref": "ContactEmail"}, "unset"]' in condition

    def test_the_topic_is_encrypted_with_a_key_alarms_may_use(self, template):
        """The topic's KMS key lets CloudWatch encrypt alarm messages (the AWS-managed SNS key would not)."""
        resources = template["Resources"]
        assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmKey", "Arn"]}
        statements = resources["AlarmKey"]["Properties"]["KeyPolicy"]["Statement"]
        [alarms] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
        assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


class TestMonitoringInTheStack:
    def test_the_dashboard_and_topic_exist_and_the_url_names_the_dashboard(self, stack):
        """The emulator holds the dashboard the DashboardUrl output points at, and the alarm topic."""
        url = stack.outputs["DashboardUrl"]
        match = re.fullmatch(
            r"https://us-east-1\.console\.aws\.amazon\.com/cloudwatch/home\?region=us-east-1#dashboards:name=(.+)",
            url,
        )
        assert match is not None, url
        dashboard = stack.client("cloudwatch").get_dashboard(DashboardName=match.group(1))
        body = json.loads(dashboard["DashboardBody"])
        queue_url = stack.outputs["SchedulerQueueUrl"]
        lines = [line for widget in body["widgets"] for line in widget["properties"]["metrics"]]
        assert [
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            queue_url.rsplit("/", 1)[1],
        ] == lines[[line[:2] for line in lines].index(["AWS/SQS", "ApproximateAgeOfOldestMessage"])][:4]
        assert "${" not in dashboard["DashboardBody"]
        topics = [t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]]
        assert stack.outputs["AlarmTopicArn"] in topics
