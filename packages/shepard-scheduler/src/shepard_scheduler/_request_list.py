"""Split a batching-endpoint request holding a JSON list of job objects into each job's own JSON text."""

from __future__ import annotations

import json
from typing import Final

MAX_JOBS_PER_REQUEST: Final = 1_000
"""The most jobs one endpoint request may list."""

_WHITESPACE: Final = " \t\n\r"
# Keep every element's text as it was sent (duplicate keys, number spellings) for parse_inputs to judge.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=list, parse_float=str, parse_int=str, parse_constant=str)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def split_job_list(payload: bytes) -> list[bytes] | None:
    """Return the raw JSON text of each element of a payload that is a JSON list, or None if it is not one.

    A payload that is not a well-formed JSON list (an object, or text that is not JSON) gives None, so
    it is validated as one job, exactly as before lists were accepted.
    """
    try:
        text = payload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    position = _skip(text, 0)
    if not text.startswith("[", position):
        return None
    position = _skip(text, position + 1)
    elements: list[bytes] = []
    if text.startswith("]", position):
        return elements if not text[_skip(text, position + 1) :] else None
    while True:
        try:
            _, end = _DECODER.raw_decode(text, position)
        except (ValueError, RecursionError):
            return None
        elements.append(text[position:end].encode("utf-8", errors="surrogatepass"))
        position = _skip(text, end)
        if text.startswith(",", position):
            position = _skip(text, position + 1)
        elif text.startswith("]", position):
            return elements if not text[_skip(text, position + 1) :] else None
        else:
            return None
