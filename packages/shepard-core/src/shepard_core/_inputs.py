"""Parse and validate a job's inputs.txt into the environment variables it asks for."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Final

from shepard_core._keywords import SPECIAL_KEYWORDS, is_reserved

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_INPUTS_BYTES: Final = 256 * 1024
"""The largest inputs.txt accepted: the row must fit in one DynamoDB item (400 KB) beside its own
attributes, and the variables must fit a process's environment."""

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BOM: Final = b"\xef\xbb\xbf"


class InputsError(ValueError):
    """inputs.txt cannot be used; the message says what to fix."""


class InputsTooLargeError(InputsError):
    """inputs.txt is larger than MAX_INPUTS_BYTES."""


class InputsEncodingError(InputsError):
    """inputs.txt is not UTF-8 text."""


class InvalidJSONError(InputsError):
    """inputs.txt is not valid JSON."""

    def __init__(self, message: str, line: int, column: int) -> None:
        """Keep where the JSON broke beside the message."""
        super().__init__(message)
        self.line = line
        self.column = column


class NotAnObjectError(InputsError):
    """inputs.txt holds JSON that is not an object of key/value pairs."""


class DuplicateKeyError(InputsError):
    """inputs.txt names the same key twice."""


class InvalidKeyError(InputsError):
    """A key of inputs.txt cannot be an environment variable name."""


class ReservedKeywordError(InputsError):
    """A key of inputs.txt is a name Shepard reserves for itself."""

    def __init__(self, message: str, keyword: str) -> None:
        """Keep the offending keyword beside the message."""
        super().__init__(message)
        self.keyword = keyword


class NestedValueError(InputsError):
    """A value of inputs.txt is a list or an object, which an environment variable cannot hold."""


class NullValueError(InputsError):
    """A value of inputs.txt is null, which an environment variable cannot hold."""


class InvalidValueError(InputsError):
    """A value of inputs.txt holds a NUL character, which no environment variable can hold."""


def _duplicate_rejecter(source: str) -> Callable[[list[tuple[str, object]]], dict[str, object]]:
    def reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        special_seen: dict[str, str] = {}
        for key, value in pairs:
            if key in result:
                raise DuplicateKeyError(f"{source} sets {key!r} more than once; keep one of them")
            upper = key.upper()
            if upper in SPECIAL_KEYWORDS:
                if upper in special_seen:
                    raise DuplicateKeyError(
                        f"{source} sets {upper} twice, as {special_seen[upper]!r} and {key!r}; "
                        "keep one of them"
                    )
                special_seen[upper] = key
            result[key] = value
        return result

    return reject_duplicates


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON; quote it if you mean the text {name!r}")


def _as_env_value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValueError(
                f"the value of {key!r} holds a NUL character (\\u0000), which no environment variable "
                "can hold; remove it"
            )
        return value
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        raise NullValueError(
            f"the value of {key!r} is null; give it a string, number or boolean (or leave it out)"
        )
    kind = "a list" if isinstance(value, list) else "an object"
    raise NestedValueError(
        f"the value of {key!r} is {kind}; environment variables hold text, so give a string "
        "(for structured data, a JSON string or a file in the job zip)"
    )


def _validate_key(key: str) -> None:
    if not _ENV_NAME.match(key):
        raise InvalidKeyError(
            f"{key!r} cannot be an environment variable name: use letters, digits and "
            "underscores, not starting with a digit"
        )
    if is_reserved(key):
        raise ReservedKeywordError(
            f"{key!r} is a reserved keyword ({key.upper()} is set by Shepard for every job); rename it",
            keyword=key,
        )


def parse_inputs(raw: bytes, *, source: str = "inputs.txt") -> dict[str, str]:
    """Return the environment variables a job's inputs.txt asks for, or raise an InputsError.

    `source` names the inputs in error messages (the batching endpoint's are not a file).
    """
    if len(raw) > MAX_INPUTS_BYTES:
        raise InputsTooLargeError(
            f"{source} is {len(raw):,} bytes; the limit is {MAX_INPUTS_BYTES:,} bytes. "
            "Put large data in a file inside the job zip instead"
        )
    raw = raw.removeprefix(_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputsEncodingError(
            f"{source} is not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        document = json.loads(
            text, object_pairs_hook=_duplicate_rejecter(source), parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise InvalidJSONError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except ValueError as exc:
        if isinstance(exc, InputsError):
            raise
        raise InvalidJSONError(f"{source} is not valid JSON: {exc}", line=0, column=0) from None
    if not isinstance(document, dict):
        kind = type(document).__name__
        kind = {"list": "a list", "str": "a string", "NoneType": "null"}.get(kind, f"a {kind}")
        raise NotAnObjectError(
            f'{source} holds {kind}; it must be one JSON object such as {{"NAME": "value"}}'
        )
    result: dict[str, str] = {}
    for key, value in document.items():
        _validate_key(key)
        result[key] = _as_env_value(key, value)
    return result
