"""The local flock's parts on their own: retry rules, partial batch responses, template loading, state."""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from flock_testkit import TEMPLATE
from shepard_cli import _engine
from shepard_cli._engine import adopt_local_engine
from shepard_cli.local._commands import local
from shepard_cli.local._demo import DemoJob, DemoResult, check
from shepard_cli.local._executor import HOST_RECLAIM_REASON, retry_action
from shepard_cli.local._flock import FlockNames, FlockState
from shepard_cli.local._handlers import TemplateError, handlers_from_template, load_template
from shepard_cli.local._lambda import LambdaContext, failed_message_ids, sqs_event
from shepard_cli.local._payloads import registry_reference
from shepard_cli.local._stack import emulator_compatible, stack_parameters

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STRATEGY = {
    "attempts": 3,
    "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"},
    ],
}
MESSAGES = [
    {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "Attributes": {"ApproximateReceiveCount": "1"}},
    {"MessageId": "m2", "ReceiptHandle": "r2", "Body": "{}"},
]


class TestRetryAction:
    def test_a_host_reclaim_is_retried(self):
        """A stop whose status reason starts with `Host EC2` matches the first rule: RETRY."""
        assert retry_action(STRATEGY, status_reason=HOST_RECLAIM_REASON, reason="", exit_code=None) == "RETRY"

    def test_a_payload_failure_is_not_retried(self):
        """A container that exited non-zero matches the catch-all rule: EXIT."""
        action = retry_action(
            STRATEGY, status_reason="Essential container in task exited", reason="", exit_code=3
        )
        assert action == "EXIT"

    def test_without_rules_batch_retries(self):
        """With no evaluateOnExit rule matching, Batch retries while attempts remain."""
        assert retry_action({"attempts": 2}, status_reason="x", reason="", exit_code=1) == "RETRY"

    def test_exit_code_rules_match_globs(self):
        """An onExitCode rule matches the exit code as a glob."""
        strategy = {"evaluateOnExit": [{"onExitCode": "13*", "action": "exit"}]}
        assert retry_action(strategy, status_reason="", reason="", exit_code=137) == "EXIT"


class TestFailedMessageIds:
    def test_reported_failures_are_the_only_failures(self):
        """Only the messages listed in batchItemFailures are failed."""
        response = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
        assert failed_message_ids(response, MESSAGES) == {"m2"}

    def test_an_empty_list_fails_nothing(self):
        """An empty batchItemFailures acknowledges the whole batch."""
        assert failed_message_ids({"batchItemFailures": []}, MESSAGES) == set()

    @pytest.mark.parametrize(
        "response",
        [None, "ok", {"batchItemFailures": "m1"}, {"batchItemFailures": [{"itemIdentifier": "unknown"}]}],
    )
    def test_a_malformed_response_fails_the_whole_batch(self, response):
        """A response Lambda cannot read as a partial batch response fails every message, as Lambda does."""
        assert failed_message_ids(response, MESSAGES) == {"m1", "m2"}


class TestSqsEvent:
    def test_records_have_the_shape_lambda_delivers(self):
        """Each message becomes a record with Lambda's camel-case keys and the queue's ARN."""
        event = sqs_event(MESSAGES, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
        record = event["Records"][0]
        assert record["messageId"] == "m1"
        assert record["receiptHandle"] == "r1"
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].endswith(":q")
        assert record["attributes"] == {"ApproximateReceiveCount": "1"}


class TestLambdaContext:
    def test_the_context_counts_down_from_the_timeout(self):
        """The remaining time starts near the timeout and the ARN names the function."""
        context = LambdaContext("f")
        assert 0 < context.get_remaining_time_in_millis() <= 60_000
        assert context.invoked_function_arn.endswith(":function:f")


class TestHandlersFromTemplate:
    @pytest.fixture(autouse=True)
    def _isolated_imports(self):
        # Loading the inline code installs its import hook and modules; keep them out of other tests.
        modules, meta_path = dict(sys.modules), list(sys.meta_path)
        yield
        sys.meta_path[:] = meta_path
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        sys.modules.update(modules)

    def test_the_generated_template_yields_both_handlers(self):
        """The scheduler (behind the event source mapping) and the endpoint load from shepard.yml."""
        handlers = handlers_from_template(TEMPLATE)
        assert callable(handlers.s3_events)
        assert callable(handlers.endpoint)
        assert "shepard.yml" in handlers.source

    def test_a_template_without_a_mapped_function_is_refused(self, tmp_path: Path):
        """A template that does not inline two functions, one mapped to SQS, is refused with what it found."""
        template = tmp_path / "t.yml"
        template.write_text(
            textwrap.dedent(
                """
                Resources:
                  Only:
                    Type: AWS::Lambda::Function
                    Properties:
                      Handler: index.handler
                      Code:
                        ZipFile: !Sub |
                          def handler(event, context): return event
                """
            )
        )
        with pytest.raises(TemplateError, match="two Lambda functions"):
            handlers_from_template(template)

    def test_a_template_that_is_not_yaml_is_refused(self, tmp_path: Path):
        """Unparseable YAML is reported as such."""
        template = tmp_path / "t.yml"
        template.write_text("Resources: [unclosed")
        with pytest.raises(TemplateError, match="not valid YAML"):
            handlers_from_template(template)


class TestFlockState:
    def test_state_round_trips_through_its_file(self, tmp_path: Path):
        """What `local up` records is what `status` and `down` read back."""
        state = FlockState(
            directory=tmp_path, names=FlockNames(prefix="p"), aws_endpoint="http://127.0.0.1:1", moto_pid=7
        )
        state.save()
        loaded = FlockState.load(tmp_path)
        assert loaded == state
        assert loaded.names.inputs_bucket == "p-inputs"
        assert json.loads(state.path.read_text())["names"] == {"prefix": "p"}

    def test_no_state_file_means_no_flock(self, tmp_path: Path):
        """A directory without a state file holds no flock."""
        assert FlockState.load(tmp_path) is None


class TestRegistryReference:
    def test_an_ecr_image_is_looked_up_in_the_flock_registry(self):
        """The job definition's ECR image is found in the local registry under the same repository."""
        image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shepard-local:latest"
        assert registry_reference(image, "127.0.0.1:5000") == "127.0.0.1:5000/shepard-local:latest"

    def test_other_images_and_flocks_without_a_registry_are_left_alone(self):
        """An image that is not in ECR, or a flock with no registry, keeps the image as it is."""
        assert registry_reference("127.0.0.1:5000/x:1", "127.0.0.1:5000") == "127.0.0.1:5000/x:1"
        ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"
        assert registry_reference(ecr, "") == ecr


class TestEmulatorCompatible:
    def test_only_what_the_emulator_cannot_take_is_replaced(self):
        """The layer and the compute environment's role are filled in, function-URL outputs dropped."""
        template = load_template(TEMPLATE)
        compatible = emulator_compatible(template, layer_arn="arn:layer", service_role_arn="arn:role")
        layers = [
            resource["Properties"]["Layers"]
            for resource in compatible["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
        ]
        assert layers == [["arn:layer"], ["arn:layer"]]
        assert compatible["Resources"]["ComputeEnvironment"]["Properties"]["ServiceRole"] == "arn:role"
        assert "BatchingEndpointFunctionUrl" not in compatible["Outputs"]
        assert set(compatible["Resources"]) == set(template["Resources"])
        assert template["Resources"]["ComputeEnvironment"]["Properties"].get("ServiceRole") != "arn:role"

    def test_the_local_names_are_template_parameters(self):
        """Every parameter the local flock sets is one the template declares."""
        parameters = load_template(TEMPLATE)["Parameters"]
        assert set(stack_parameters(FlockNames())) <= set(parameters)


class TestLocalHelp:
    @pytest.mark.parametrize("name", sorted(local.commands))
    def test_every_local_command_shows_an_example(self, name):
        """Each `shepard local` command's --help shows an example, with click's markup not leaking."""
        result = CliRunner().invoke(local, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output
        assert "  shepard local " in result.output.split("Example:")[1]
        assert "\\b" not in result.output


class TestLocalEngine:
    @pytest.fixture
    def engine_socket(self, tmp_path: Path) -> Iterator[Path]:
        """A listening unix socket where scripts/docker-engine.sh would put its engine's."""
        path = tmp_path / "docker.sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            yield path

    def test_unset_docker_host_finds_the_script_engine(self, tmp_path: Path, engine_socket: Path):
        """With DOCKER_HOST unset and no default socket, the script's engine socket becomes DOCKER_HOST."""
        environ: dict[str, str] = {}
        found = adopt_local_engine(environ, default_socket=tmp_path / "none.sock", local_socket=engine_socket)
        assert found == environ["DOCKER_HOST"] == f"unix://{engine_socket}"

    def test_a_set_docker_host_or_a_default_socket_wins(self, tmp_path: Path, engine_socket: Path):
        """DOCKER_HOST, even naming a missing socket, and an existing default socket are left to docker."""
        environ = {"DOCKER_HOST": "unix:///nowhere.sock"}
        assert (
            adopt_local_engine(environ, default_socket=tmp_path / "none.sock", local_socket=engine_socket)
            is None
        )
        assert environ == {"DOCKER_HOST": "unix:///nowhere.sock"}
        environ = {}
        assert adopt_local_engine(environ, default_socket=engine_socket, local_socket=engine_socket) is None
        assert environ == {}

    def test_no_engine_anywhere_leaves_docker_host_unset(self, tmp_path: Path):
        """Without the script's socket DOCKER_HOST stays unset, so the process runtime is chosen."""
        environ: dict[str, str] = {}
        found = adopt_local_engine(
            environ, default_socket=tmp_path / "none.sock", local_socket=tmp_path / "docker.sock"
        )
        assert found is None
        assert environ == {}

    def test_every_local_command_adopts_the_engine(
        self, tmp_path: Path, engine_socket: Path, monkeypatch: pytest.MonkeyPatch
    ):
        """`shepard local status` (like every local command) runs with the script's engine as DOCKER_HOST."""
        monkeypatch.delenv("DOCKER_HOST", raising=False)
        monkeypatch.setattr(_engine, "DEFAULT_SOCKET", tmp_path / "none.sock")
        monkeypatch.setattr(_engine, "LOCAL_ENGINE_SOCKET", engine_socket)
        CliRunner().invoke(local, ["status", "--dir", str(tmp_path / "flock")])
        assert os.environ["DOCKER_HOST"] == f"unix://{engine_socket}"


class TestDemoCheck:
    def test_a_job_started_before_its_upload_is_a_problem(self, tmp_path: Path):
        """The demo's check refuses a start time earlier than the job's upload, so its medians hold."""
        job = DemoJob(label="S3 job", path="S3", uploaded_at=100.0, status="job_complete", started_at=99.5)
        result = DemoResult(mode="process", jobs=[job], retrieved=[], retrieve_dir=tmp_path, seconds=1.0)
        assert check(result) == ["S3 job started_at -0.50 s after its upload"]

    def test_settled_jobs_in_order_pass(self, tmp_path: Path):
        """Good jobs complete after their upload and the bad job is rejected: no problem."""
        good = DemoJob(
            label="S3 job",
            path="S3",
            uploaded_at=100.0,
            status="job_complete",
            started_at=100.5,
            outputs_at=103.0,
        )
        bad = DemoJob(label="bad job", path="S3", uploaded_at=100.0, status="rejected")
        result = DemoResult(
            mode="process", jobs=[good, bad], retrieved=[], retrieve_dir=tmp_path, seconds=1.0
        )
        assert check(result) == []
