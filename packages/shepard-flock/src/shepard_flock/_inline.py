"""Load the flock's Lambda handlers from the inline code of the generated template."""

from __future__ import annotations

import dataclasses
import sys
import types
from typing import TYPE_CHECKING, Any

from shepard_flock._errors import TemplateError
from shepard_flock._lambda_runtime import BUNDLED_PACKAGES
from shepard_flock._template import load_template

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


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


def _referenced_resource(value: Any) -> str | None:  # noqa: ANN401 - template values are untyped
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def forget_bundled_modules() -> None:
    """Drop the bundled packages' modules from sys.modules, so the next import runs the template's code.

    The inline code serves its own copies of these packages through an import hook; copies imported
    earlier (installed, or from another function's inline code) would shadow them.
    """
    for name in list(sys.modules):
        if name.split(".", 1)[0] in BUNDLED_PACKAGES:
            del sys.modules[name]


def _load_inline_module(logical_id: str, code: str, template: Path) -> types.ModuleType:
    name = f"shepard_flock_inline_{logical_id.lower()}"
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

    forget_bundled_modules()

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
