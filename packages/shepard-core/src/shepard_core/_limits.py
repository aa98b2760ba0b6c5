"""The sizes a job's inputs must fit: one DynamoDB item, and a process's environment."""

from __future__ import annotations

from typing import Final

from shepard_core._schema import Attr

MAX_ITEM_BYTES: Final = 400 * 1024
"""DynamoDB's item size limit: attribute names plus values, in UTF-8 bytes."""

ROW_RESERVE_BYTES: Final = 8 * 1024
"""Room kept in a row for Shepard's own attributes (UUID, status, a 1,024-byte zip key and its version
id, times, Batch job id, exit code, ...): about 1.6 KiB at their largest today, with room for more."""

MAX_ENV_STRING_BYTES: Final = 128 * 1024
"""Linux's MAX_ARG_STRLEN (32 pages of 4 KiB): the longest single `NAME=value` string, with its NUL
terminator, that exec accepts; a longer one fails with E2BIG ("Argument list too long")."""

MAX_ENV_TOTAL_BYTES: Final = 1024 * 1024
"""The most a job's inputs may add to the environment (strings, terminators and one 8-byte pointer
each): half of the 2 MiB that exec allows under the default 8 MiB stack, leaving the rest to the
image's own variables, Shepard's and the command line."""

ENV_RESERVE_BYTES: Final = 64 * 1024
"""Room kept in that total for the variables the worker and the image set beside the job's."""


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def env_string_bytes(name: str, value: str) -> int:
    """Return how many bytes exec needs for `NAME=value`, its NUL terminator included."""
    return _utf8(name) + 1 + _utf8(value) + 1


def env_total_bytes(variables: dict[str, str]) -> int:
    """Return what `variables` add to a process's environment: each string, its NUL and its pointer."""
    return sum(env_string_bytes(name, value) + 8 for name, value in variables.items())


def row_input_bytes(inputs: dict[str, str]) -> int:
    """Return the bytes the inputs take in a job row: names and values, and the set of input names."""
    if not inputs:
        return 0
    return sum(2 * _utf8(name) + _utf8(value) for name, value in inputs.items()) + _utf8(Attr.INPUT_KEYS)
