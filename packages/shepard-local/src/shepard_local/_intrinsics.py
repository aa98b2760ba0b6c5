"""Resolve a template's intrinsic functions (Ref, Fn::If, Fn::Sub, Fn::GetAtt...) against a created stack.

The emulator's CloudFormation skips a few resource types and properties; the local flock applies them
itself, and takes their values from the template through this resolver rather than restating them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

NO_VALUE: Final = "AWS::NoValue"
_SUB_NAME: Final = re.compile(r"\$\{(?P<name>[^}!][^}]*)\}")


class IntrinsicError(Exception):
    """A template value uses a function or name this resolver does not know."""


class _Dropped:
    """The value of `Ref: AWS::NoValue`: the property it stands for is left out."""


DROPPED: Final = _Dropped()


def parameter_values(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """Return every parameter's value: `given` where set, else the template's default."""
    declared: dict[str, Any] = dict(template.get("Parameters", {}))
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items() if "Default" in spec}
    return {**values, **given}


@dataclasses.dataclass(frozen=True, kw_only=True)
class StackValues:
    """What intrinsic functions refer to: parameters (pseudo ones too), resources' ids and attributes."""

    parameters: Mapping[str, str]
    resources: Mapping[str, str]
    attribute: Callable[[str, str], str]
    conditions: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def condition(self, name: str) -> bool:
        """Return whether the template's condition `name` holds."""
        if name not in self.conditions:
            raise IntrinsicError(f"the template has no condition {name}")
        return self._truth(self.conditions[name])

    def _truth(self, expression: Any) -> bool:  # noqa: ANN401 - template values are untyped
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Condition":
                return self.condition(str(argument))
            if function == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._truth(argument[0])
            if function == "Fn::And":
                return all(self._truth(item) for item in argument)
            if function == "Fn::Or":
                return any(self._truth(item) for item in argument)
        raise IntrinsicError(f"cannot evaluate the condition {expression!r}")

    def resolve(self, value: Any) -> Any:  # noqa: ANN401 - template values are untyped
        """Return `value` with every intrinsic function replaced by its result; DROPPED for AWS::NoValue."""
        if isinstance(value, list):
            resolved = [self.resolve(item) for item in value]
            return [item for item in resolved if item is not DROPPED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref" or function.startswith("Fn::"):
                return self._function(str(function), argument)
        mapping = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in mapping.items() if item is not DROPPED}

    def _function(self, function: str, argument: Any) -> Any:  # noqa: ANN401 - template values are untyped
        if function == "Ref":
            return self._ref(str(argument))
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(str(name)) else when_false)
        if function == "Fn::Sub":
            return self._sub(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return self.attribute(str(logical_id), str(attribute))
        raise IntrinsicError(f"{function} is not supported here")

    def _ref(self, name: str) -> Any:  # noqa: ANN401 - a parameter, an id or DROPPED
        if name == NO_VALUE:
            return DROPPED
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]
        raise IntrinsicError(f"Ref {name} names no parameter or created resource")

    def _sub(self, argument: Any) -> str:  # noqa: ANN401 - a string or [string, variables]
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        bound = {key: str(self.resolve(item)) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match["name"]
            if name in bound:
                return bound[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.attribute(logical_id, attribute)
            return str(self._ref(name))

        return _SUB_NAME.sub(replace, str(text))
