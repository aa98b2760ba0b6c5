"""check-update: compare the installed shepard-cli with the newest release on PyPI."""

from __future__ import annotations

import json
import os
import re
from importlib import metadata
from typing import Final

from shepard_cli._errors import CliError

PACKAGE: Final = "shepard-cli"
INDEX_URL_VARIABLE: Final = "SHEPARD_CLI_PYPI_URL"
DEFAULT_INDEX_URL: Final = "https://pypi.org/pypi/shepard-cli/json"


def installed_version() -> str:
    """Return the installed version of shepard-cli."""
    return metadata.version(PACKAGE)


def _key(version: str) -> tuple[tuple[int, ...], int, str]:
    match = re.match(r"(\d+(?:\.\d+)*)(.*)", version)
    if match is None:
        return ((), 0, version)
    numbers = tuple(int(part) for part in match.group(1).split("."))
    while numbers and numbers[-1] == 0:
        numbers = numbers[:-1]
    rest = match.group(2)
    return (numbers, 0 if rest else 1, rest)


def is_newer(candidate: str, current: str) -> bool:
    """Return whether release `candidate` is newer than `current` (pre-releases sort before releases)."""
    return _key(candidate) > _key(current)


def latest_version(url: str | None = None, timeout: float = 5.0) -> str:
    """Return the newest published version, or raise CliError saying PyPI could not be reached."""
    import urllib.error
    import urllib.request

    url = url or os.environ.get(INDEX_URL_VARIABLE) or DEFAULT_INDEX_URL
    if not url.startswith(("https://", "http://")):
        raise CliError(f"{url!r} is not an http(s) URL", f"Fix {INDEX_URL_VARIABLE}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            document = json.load(response)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(
            f"could not reach PyPI to check for updates ({reason})", "Check your connection and try again"
        ) from None
    except ValueError:
        raise CliError("PyPI answered with something that is not JSON", "Try again later") from None
    try:
        return str(document["info"]["version"])
    except (KeyError, TypeError):
        raise CliError("PyPI's answer has no version", "Try again later") from None
