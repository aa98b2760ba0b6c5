"""Read a batching-endpoint request that carries a client token: the same token and jobs are one request.

Such a request is the JSON object `{"client_token": TOKEN, "jobs": JOBS}`, where JOBS is the object of
inputs (one job) or the list of them. No inputs object can look like it, since an input's value is never
an object or a list. Its jobs' ids follow from the token and from JOBS as sent, so a repeat (a retry by
the caller, its SDK or Lambda) schedules nothing twice, while the same token with other jobs is another
request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Final

CLIENT_TOKEN_FIELD: Final = "client_token"  # noqa: S105 - a field name, not a secret
JOBS_FIELD: Final = "jobs"
_TOKEN: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
_WHITESPACE: Final = " \t\n\r"
# Read values as sent (duplicate keys, number spellings): only their extent matters here.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=list, parse_float=str, parse_int=str, parse_constant=str)


class InvalidClientTokenError(ValueError):
    """A request's client token is not 1 to 64 letters, digits or `._:-`."""


@dataclasses.dataclass(frozen=True)
class TokenedRequest:
    """A request's client token and the JSON text of its jobs, as sent."""

    token: str
    jobs: bytes

    @property
    def request_key(self) -> str:
        """Return what the request's job ids are derived from: the token and the digest of its jobs."""
        digest = hashlib.sha256(self.jobs).hexdigest()[:32]
        return f"client-token:{self.token}:{digest}"


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _members(text: str) -> dict[str, tuple[object, str]] | None:
    """Return each member of the JSON object `text` (value, and its text as sent), or None if not one."""
    position = _skip(text, 0)
    if not text.startswith("{", position):
        return None
    members: dict[str, tuple[object, str]] = {}
    position = _skip(text, position + 1)
    while not text.startswith("}", position):
        try:
            key, position = _DECODER.raw_decode(text, position)
            position = _skip(text, position)
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            start = _skip(text, position + 1)
            value, position = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
        members[key] = (value, text[start:position])
        position = _skip(text, position)
        if text.startswith(",", position):
            position = _skip(text, position + 1)
        elif not text.startswith("}", position):
            return None
    return members if not text[_skip(text, position + 1) :] else None


def open_tokened_request(payload: bytes) -> TokenedRequest | None:
    """Return the token and jobs of a request carrying a client token, or None for a plain request.

    Raise InvalidClientTokenError when the request has both fields but the token is not usable.
    """
    try:
        text = payload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    members = _members(text)
    if members is None or set(members) != {CLIENT_TOKEN_FIELD, JOBS_FIELD}:
        return None
    token, token_text = members[CLIENT_TOKEN_FIELD]
    jobs = members[JOBS_FIELD][1]
    if not jobs.startswith(("{", "[")):
        return None
    # Numbers are read as their text here: only a JSON string is a token.
    if not token_text.startswith('"') or not isinstance(token, str) or not _TOKEN.match(token):
        raise InvalidClientTokenError(
            f"the client token {json.dumps(token)[:80]} is not 1 to 64 letters, digits or ._:-"
        )
    return TokenedRequest(token=token, jobs=jobs.encode("utf-8", errors="surrogatepass"))
