"""Fixtures for the template's tests: the generated template, its inline Lambda code, and a stack on moto."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from shepard_testing import REGION, LambdaContext, make_zip

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "cloudformation" / "shepard.yml"
SCHEDULER_SRC = REPO / "packages" / "shepard-scheduler" / "src" / "shepard_scheduler"
SCHEDULER_FUNCTION = "ShepardSchedulerFunction"
ENDPOINT_FUNCTION = "ShepardSchedulerFunctionBatchingEndpoint"
POWERTOOLS_LAYER = "{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.13/latest}}"
BUNDLED_PACKAGES = ("shepard_core", "shepard_zipindex", "shepard_scheduler")

STACK_PARAMETERS = {
    "InputsBucket": "flock-inputs",
    "OutputsBucket": "flock-outputs",
    "ErrorsBucket": "flock-errors",
    "QuickDeployBucket": "flock-quick-deploy",
    "TableName": "flock-jobs",
    "SQSName": "flock-uploads",
    "ECRRepoName": "flock-repo",
    "QueueName": "flock-job-queue",
    "JobDefinitionName": "flock-job",
    "ProjectName": "FlockTest",
    # moto does not split a CommaDelimitedList default, so the default is passed explicitly.
    "InstanceTypes": "optimal",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Let moto's CloudFormation warn about (and skip) the resource types it does not model."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Tried to parse AWS.* but it's not supported:UserWarning")
            )


@pytest.fixture
def require_handlers() -> None:
    """Skip while packages/shepard-scheduler has no handler modules yet: there is no handler to bundle."""
    missing = [name for name in ("s3_events.py", "endpoint.py") if not (SCHEDULER_SRC / name).is_file()]
    if missing:
        pytest.skip(f"packages/shepard-scheduler has no {', '.join(missing)} yet, so no handler to bundle")


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form tags (`!Ref`, `!Sub`, ...) as their long form."""


def _construct_intrinsic(loader: CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    key = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
    return {key: value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Return the CloudFormation template at `path` as plain data, intrinsics in long form."""
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """Return the generated template."""
    return load_template()


def inline_code(template: dict[str, Any], logical_id: str) -> str:
    """Return the inline `index.py` of the Lambda function `logical_id`."""
    return template["Resources"][logical_id]["Properties"]["Code"]["ZipFile"]


def _forget_bundled_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in BUNDLED_PACKAGES or name == "index":
            del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ShepardBundleImporter"]


@pytest.fixture
def import_index(template: dict[str, Any], tmp_path: Path) -> Iterator[Callable[[str], ModuleType]]:
    """Return a function importing a Lambda's inline code, fresh, as the module `index` (as Lambda does)."""

    def load(logical_id: str) -> ModuleType:
        _forget_bundled_modules()
        directory = tmp_path / logical_id
        directory.mkdir()
        path = directory / "index.py"
        path.write_text(inline_code(template, logical_id), encoding="utf-8")
        spec = importlib.util.spec_from_file_location("index", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["index"] = module
        spec.loader.exec_module(module)
        return module

    yield load
    _forget_bundled_modules()


def moto_compatible(template: dict[str, Any], *, layer_arn: str, service_role_arn: str) -> dict[str, Any]:
    """Return a copy of `template` with the three things moto's CloudFormation cannot take replaced.

    - The Powertools layer is an SSM dynamic reference, which moto does not resolve: it becomes `layer_arn`.
    - moto requires a compute environment's ServiceRole; AWS uses Batch's service-linked role without one.
    - Outputs of resource types moto does not model (the function URL) cannot be resolved: they go.
    """
    compatible = copy.deepcopy(template)
    resources = compatible["Resources"]
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if properties.get("Layers"):
            assert properties["Layers"] == [POWERTOOLS_LAYER]
            properties["Layers"] = [layer_arn]
    resources["ComputeEnvironment"]["Properties"]["ServiceRole"] = service_role_arn
    unmodeled = {name for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Url"}
    compatible["Outputs"] = {
        name: output
        for name, output in compatible["Outputs"].items()
        if not (isinstance(output["Value"], dict) and output["Value"].get("Fn::GetAtt", [""])[0] in unmodeled)
    }
    return compatible


@dataclasses.dataclass
class Stack:
    """A flock created on moto from the generated template: its outputs, resources and clients."""

    endpoint: str
    name: str
    outputs: dict[str, str]
    resources: dict[str, str]
    layer_arn: str

    def client(self, service: str) -> Any:
        """Return a boto3 client of `service` on the moto server."""
        return boto3.session.Session(region_name=REGION).client(service, endpoint_url=self.endpoint)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Return the environment variables the stack gave the Lambda function `logical_id`."""
        configuration = self.client("lambda").get_function_configuration(
            FunctionName=self.resources[logical_id]
        )
        return dict(configuration["Environment"]["Variables"])

    def make_zip(self, files: dict[str, str | bytes]) -> bytes:
        """Return the bytes of a job zip holding `files`."""
        return make_zip(files)


def create_stack(endpoint: str, template: dict[str, Any], **overrides: str) -> Stack:
    """Create a stack from `template` (made moto-compatible) on the moto server at `endpoint`."""
    session = boto3.session.Session(region_name=REGION)
    layer_arn = session.client("lambda", endpoint_url=endpoint).publish_layer_version(
        LayerName="AWSLambdaPowertoolsPythonV3-python313-x86_64",
        Content={"ZipFile": make_zip({"python/aws_lambda_powertools/__init__.py": ""})},
        CompatibleRuntimes=["python3.13"],
    )["LayerVersionArn"]
    service_role = session.client("iam", endpoint_url=endpoint).create_role(
        RoleName="batch-service-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    body = moto_compatible(template, layer_arn=layer_arn, service_role_arn=service_role)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    name = "flock"
    parameters = {**STACK_PARAMETERS, **overrides}
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    for _ in range(100):
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return Stack(
        endpoint=endpoint,
        name=name,
        outputs={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
        resources={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        layer_arn=layer_arn,
    )


@pytest.fixture
def make_stack(aws_endpoint: str, template: dict[str, Any]) -> Callable[..., Stack]:
    """Return a function creating the flock on a fresh moto server, with parameters overridden by keyword."""

    def make(**overrides: str) -> Stack:
        return create_stack(aws_endpoint, template, **overrides)

    return make


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """Return a flock created on a fresh moto server from the generated template's defaults."""
    return make_stack()


@pytest.fixture
def context_for() -> Callable[[str], LambdaContext]:
    """Return a function making a Lambda context, with a minute to go, for the function named."""
    return LambdaContext
