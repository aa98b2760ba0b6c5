"""Fixtures for the template's tests: the generated template, its inline Lambda code, and a stack on moto."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from shepard_flock import create_emulated_stack, forget_bundled_modules, inline_code, load_template
from shepard_testing import REGION, LambdaContext, make_zip

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "cloudformation" / "shepard.yml"
SCHEDULER_SRC = REPO / "packages" / "shepard-scheduler" / "src" / "shepard_scheduler"
SCHEDULER_FUNCTION = "ShepardSchedulerFunction"
ENDPOINT_FUNCTION = "ShepardSchedulerFunctionBatchingEndpoint"

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


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """Return the generated template (the checkout's cloudformation/shepard.yml)."""
    return load_template(TEMPLATE_PATH)


def _forget_bundled_modules() -> None:
    forget_bundled_modules()
    sys.modules.pop("index", None)
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
    """Create the flock from `template` (made moto-compatible by shepard-flock) on the moto server."""
    created = create_emulated_stack(
        boto3.session.Session(region_name=REGION),
        endpoint,
        name="flock",
        template=template,
        parameters={**STACK_PARAMETERS, **overrides},
    )
    return Stack(
        endpoint=endpoint,
        name=created.name,
        outputs=created.outputs,
        resources=created.resources,
        layer_arn=created.layer_arn,
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
