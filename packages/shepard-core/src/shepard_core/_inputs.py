"""Parse and validate a job's inputs.txt into the environment variables it asks for."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Final

from shepard_core._keywords import QUICK_DEPLOY_DIRECTORY, SPECIAL_KEYWORDS, is_reserved
from shepard_core._limits import (
    ENV_RESERVE_BYTES,
    MAX_ENV_STRING_BYTES,
    MAX_ENV_TOTAL_BYTES,
    MAX_ITEM_BYTES,
    ROW_RESERVE_BYTES,
    env_string_bytes,
    env_total_bytes,
    row_input_bytes,
)
from shepard_core._paths import UnusablePathError, folder_parts
from shepard_core._startup_variables import is_startup_variable

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_INPUTS_BYTES: Final = 256 * 1024
"""The largest inputs.txt accepted: the row must fit in one DynamoDB item (400 KB) beside its own
attributes, and the variables must fit a process's environment."""

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME_BYTES: Final = 65_535
"""The longest variable name: a DynamoDB attribute name is less than 64 KiB."""
_BOM: Final = b"\xef\xbb\xbf"


class InputsError(ValueError):
    """inputs.txt cannot be used; the message says what to fix."""


class InputsTooLargeError(InputsError):
    """inputs.txt is larger than MAX_INPUTS_BYTES."""


class ValueTooLongError(InputsTooLargeError):
    """One variable is longer than a process's environment can hold."""


class EnvironmentTooLargeError(InputsTooLargeError):
    """All the variables together are more than a process's environment can hold."""


class RowTooLargeError(InputsTooLargeError):
    """The inputs would make a job row larger than DynamoDB stores."""


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


class TooDeeplyNestedError(NestedValueError):
    """inputs.txt nests lists or objects deeper than the JSON parser follows."""


class StartupVariableError(InputsError):
    """A key of inputs.txt would make the payload's programs load or run code before their own."""

    def __init__(self, message: str, keyword: str) -> None:
        """Keep the offending name beside the message."""
        super().__init__(message)
        self.keyword = keyword


class NullValueError(InputsError):
    """A value of inputs.txt is null, which an environment variable cannot hold."""


class InvalidValueError(InputsError):
    """A value of inputs.txt holds a character no environment variable can hold (NUL, a lone surrogate)."""


class UnencodableValueError(InvalidValueError):
    """A value of inputs.txt holds a lone UTF-16 surrogate (from a JSON escape), which is no character."""


class InvalidPathValueError(InvalidValueError):
    """A value that names a folder (QUICK_DEPLOY_DIRECTORY) cannot name one."""


class _Number(str):
    """The text of a JSON number, kept as the user wrote it."""

    __slots__ = ()


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
        _check_encodable(key, value)
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


def _check_encodable(key: str, value: str) -> None:
    """Raise UnencodableValueError when `value` cannot be written as UTF-8 (it holds a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise UnencodableValueError(
            f"the value of {key!r} holds a lone surrogate (\\u{ord(bad):04x}) at character {exc.start}, "
            "which is no character: UTF-8 cannot write it and no environment variable can hold it. "
            "Escape a character outside the Basic Multilingual Plane as a surrogate pair "
            "(\\ud83d\\ude00), or write it as is"
        ) from None


def _validate_key(key: str, allowed_startup_variables: frozenset[str]) -> None:
    if not _ENV_NAME.match(key):
        raise InvalidKeyError(
            f"{key!r} cannot be an environment variable name: use letters, digits and "
            "underscores, not starting with a digit"
        )
    if len(key) > MAX_NAME_BYTES:
        raise InvalidKeyError(
            f"a name of inputs.txt is {len(key):,} characters long; names may have at most "
            f"{MAX_NAME_BYTES:,} (the job's table row stores each name as an attribute name)"
        )
    if is_reserved(key):
        raise ReservedKeywordError(
            f"{key!r} is a reserved keyword ({key.upper()} is set by Shepard for every job); rename it",
            keyword=key,
        )
    if is_startup_variable(key) and key.upper() not in allowed_startup_variables:
        raise StartupVariableError(
            f"{key!r} would make the payload's programs load or run code before their own (a dynamic "
            "loader, shell or interpreter start-up variable), so jobs may not set it; set it in the "
            "payload image or run.sh instead",
            keyword=key,
        )


def _kind_of(document: object) -> str:
    if isinstance(document, bool):
        return "a boolean"
    if isinstance(document, _Number):
        return "a number"
    return {list: "a list", str: "a string", type(None): "null"}.get(type(document), "a value")


def _check_sizes(variables: dict[str, str], source: str) -> None:
    for name, value in variables.items():
        size = env_string_bytes(name, value)
        if size > MAX_ENV_STRING_BYTES:
            raise ValueTooLongError(
                f"the value of {name!r} makes a variable of {size:,} bytes; a process's environment "
                f"holds at most {MAX_ENV_STRING_BYTES:,} bytes per variable (NAME=value). "
                "Put large data in a file inside the job zip instead"
            )
    total, room = env_total_bytes(variables), MAX_ENV_TOTAL_BYTES - ENV_RESERVE_BYTES
    if total > room:
        raise EnvironmentTooLargeError(
            f"{source} sets {len(variables):,} variables taking {total:,} bytes of the environment; "
            f"jobs may use at most {room:,} bytes of it. Put large data in a file inside the job zip"
        )
    stored, room = row_input_bytes(variables), MAX_ITEM_BYTES - ROW_RESERVE_BYTES
    if stored > room:
        raise RowTooLargeError(
            f"{source} would take {stored:,} bytes of the job's table row (each name is stored twice); "
            f"a row holds {MAX_ITEM_BYTES:,} bytes, {room:,} of them for inputs. Use fewer or shorter "
            "names and values, or put the data in a file inside the job zip"
        )


def _check_quick_deploy_directory(variables: dict[str, str]) -> None:
    for name, value in variables.items():
        if name.upper() == QUICK_DEPLOY_DIRECTORY and value != "":
            try:
                folder_parts(value, QUICK_DEPLOY_DIRECTORY)
            except UnusablePathError as exc:
                raise InvalidPathValueError(
                    f"QUICK_DEPLOY_DIRECTORY must name a folder of the quick-deploy bucket: {exc}"
                ) from None


def parse_inputs(
    raw: bytes, *, source: str = "inputs.txt", allowed_startup_variables: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Return the environment variables a job's inputs.txt asks for, or raise an InputsError.

    `source` names the inputs in error messages (the batching endpoint's are not a file);
    `allowed_startup_variables` (upper case) lifts the refusal of those loader, shell and interpreter
    variables for a flock that chooses to trust its uploaders with them.
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
            text,
            object_pairs_hook=_duplicate_rejecter(source),
            parse_constant=_reject_constant,
            parse_int=_Number,
            parse_float=_Number,
        )
    except RecursionError:
        raise TooDeeplyNestedError(
            f"{source} nests lists or objects too deeply to read; it must be one flat JSON object whose "
            'values are strings, numbers or booleans, such as {"NAME": "value"}'
        ) from None
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
        raise NotAnObjectError(
            f'{source} holds {_kind_of(document)}; it must be one JSON object such as {{"NAME": "value"}}'
        )
    result: dict[str, str] = {}
    for key, value in document.items():
        _validate_key(key, allowed_startup_variables)
        result[key] = _as_env_value(key, value)
    _check_quick_deploy_directory(result)
    _check_sizes(result, source)
    return result
