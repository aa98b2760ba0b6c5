"""Find the generated template and load the scheduler's Lambda handlers from its inline code."""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

TEMPLATE_VAR: Final = "SHEPARD_TEMPLATE"
TEMPLATE_RELATIVE: Final = Path("cloudformation") / "shepard.yml"
PACKAGED_TEMPLATE: Final = "shepard.yml"


class TemplateError(Exception):
    """The template cannot be read or holds no usable scheduler code."""


@dataclasses.dataclass(frozen=True)
class Handlers:
    """The S3-event scheduler, the batching endpoint, the reconciler, and where their code came from."""

    s3_events: Callable[[dict[str, Any], Any], Any]
    endpoint: Callable[[dict[str, Any], Any], Any]
    source: str
    reconciler: Callable[[dict[str, Any], Any], Any] | None = None
    """The function the template's EventBridge rule sends Batch job ends to (None in a template without)."""
    reconciler_id: str | None = None
    """The reconciler's logical id; its rule is the one whose target it is."""


def packaged_template() -> Path:
    """Return the generated shepard.yml shipped inside this package (written by `nox -s template`)."""
    return Path(str(importlib.resources.files(__package__ or "shepard_local").joinpath(PACKAGED_TEMPLATE)))


def find_template(start: Path | None = None) -> Path:
    """Return SHEPARD_TEMPLATE, else the first cloudformation/shepard.yml in `start` or its parents.

    Outside a checkout it is the copy of the template this package ships.
    """
    configured = os.environ.get(TEMPLATE_VAR)
    if configured:
        return Path(configured).expanduser()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / TEMPLATE_RELATIVE
        if candidate.is_file():
            return candidate
    return packaged_template()


class _TemplateLoader:
    """A YAML loader that reads CloudFormation's short-form tags (`!Ref`, `!Sub`...) as plain data."""

    @staticmethod
    def load(text: str) -> Any:  # noqa: ANN401 - YAML documents are untyped
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
            name = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
                if suffix == "GetAtt" and isinstance(value, str):
                    value = value.split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
            return {name: value}

        Loader.add_multi_constructor("!", construct)
        try:
            return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise TemplateError(f"the template is not valid YAML: {exc}") from exc


def load_template(template: Path) -> dict[str, Any]:
    """Return the template as data, short-form tags turned into their long forms."""
    try:
        document = _TemplateLoader.load(template.read_text())
    except OSError as exc:
        raise TemplateError(f"cannot read {template}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{template} is not a CloudFormation template (no Resources)")
    return document


def _referenced_resource(value: Any) -> str | None:  # noqa: ANN401 - template values are untyped
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


BUNDLED_PACKAGES: Final = ("shepard_core", "shepard_zipindex", "shepard_scheduler")


def _forget_installed_bundle_packages() -> None:
    # The inline code serves its own copies of these packages through an import hook; copies imported
    # earlier from the installed packages would shadow them, and the code that ran would not be the
    # template's.
    for name in list(sys.modules):
        if name.split(".", 1)[0] in BUNDLED_PACKAGES:
            del sys.modules[name]


def _load_inline_module(logical_id: str, code: str, template: Path) -> types.ModuleType:
    name = f"shepard_local_inline_{logical_id.lower()}"
    module = types.ModuleType(name)
    module.__file__ = f"{template}#{logical_id}/index.py"
    sys.modules[name] = module
    try:
        exec(compile(code, module.__file__, "exec"), module.__dict__)  # noqa: S102 - the template's own code
    except Exception as exc:
        del sys.modules[name]
        raise TemplateError(f"the inline code of {logical_id} in {template} fails to load: {exc!r}") from exc
    return module


def handlers_from_template(template: Path) -> Handlers:
    """Return the handlers whose code is inlined in `template` (one `index.py` per Lambda function).

    The scheduler is the function an SQS event source mapping invokes, the reconciler the one an
    EventBridge rule targets; the endpoint is the other one.
    """
    resources: dict[str, Any] = load_template(template)["Resources"]
    functions = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
        and isinstance(resource.get("Properties", {}).get("Code", {}).get("ZipFile"), str)
    }
    mapped = {
        _referenced_resource(resource.get("Properties", {}).get("FunctionName"))
        for resource in resources.values()
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping"
    }
    targeted = {
        _referenced_resource(target.get("Arn"))
        for resource in resources.values()
        if resource.get("Type") == "AWS::Events::Rule"
        for target in resource.get("Properties", {}).get("Targets", [])
    }
    scheduler_ids = [logical_id for logical_id in functions if logical_id in mapped]
    reconciler_ids = [logical_id for logical_id in functions if logical_id in targeted]
    endpoint_ids = [logical_id for logical_id in functions if logical_id not in mapped | targeted]
    if len(scheduler_ids) != 1 or len(endpoint_ids) != 1 or len(reconciler_ids) > 1:
        raise TemplateError(
            f"{template} should inline a Lambda function behind an SQS event source mapping, one more and "
            f"at most one an EventBridge rule targets; found {sorted(functions)} with "
            f"{sorted(i for i in mapped if i)} mapped and {sorted(i for i in targeted if i)} targeted"
        )

    _forget_installed_bundle_packages()

    def handler_of(logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        properties = functions[logical_id]["Properties"]
        module = _load_inline_module(logical_id, properties["Code"]["ZipFile"], template)
        _, _, attribute = str(properties.get("Handler", "index.handler")).rpartition(".")
        function = getattr(module, attribute, None)
        if not callable(function):
            raise TemplateError(
                f"{logical_id}'s handler {properties.get('Handler')} is not in its inline code"
            )
        return function  # type: ignore[no-any-return]

    return Handlers(
        s3_events=handler_of(scheduler_ids[0]),
        endpoint=handler_of(endpoint_ids[0]),
        source=f"{template} ({', '.join([*scheduler_ids, *endpoint_ids, *reconciler_ids])})",
        reconciler=handler_of(reconciler_ids[0]) if reconciler_ids else None,
        reconciler_id=reconciler_ids[0] if reconciler_ids else None,
    )
