"""The `--wait-threshold` option: how long a job may wait for AWS Batch before status and watch say why."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from shepard_cli._watch_snapshot import parse_row_time

if TYPE_CHECKING:
    from collections.abc import Callable

F = TypeVar("F", bound="Callable[..., Any]")
DEFAULT_WAIT_THRESHOLD: Final = "5m"
"""Long enough for Batch to launch an instance and start a job; a job waiting longer may be stuck."""
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhd])", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Return the duration `text` names (`90s`, `5m`, `1h30m`, `0`); raise ValueError if it names none."""
    compact = text.strip().replace(" ", "")
    if compact == "0":
        return timedelta(0)
    if not compact or _PART.sub("", compact):
        raise ValueError(f"{text!r} is not a duration; give one such as 90s, 5m, 1h or 1h30m")
    return timedelta(seconds=sum(float(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(compact)))


def _convert(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def wait_threshold_option(function: F) -> F:
    """Add `--wait-threshold DURATION` (a timedelta, default 5m) to a command."""
    return click.option(
        "--wait-threshold",
        "wait_threshold",
        default=DEFAULT_WAIT_THRESHOLD,
        show_default=True,
        metavar="DURATION",
        callback=_convert,
        help="Say why a job waits (AWS Batch's reason, its queue's and compute environment's state, the "
        "likely cause) once it has waited this long for AWS Batch: 90s, 5m, 1h; 0 always.",
    )(function)


def waited(since: str | None, now: datetime | None = None) -> timedelta | None:
    """Return how long ago the row time `since` was (None when it is missing or unreadable)."""
    moment = parse_row_time(since)
    return None if moment is None else (now or datetime.now(UTC)) - moment
