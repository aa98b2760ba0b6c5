"""What `shepard watch` looks at: its filters, `--since` parsing, and the Scan request they make."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Attr, format_start_time

from shepard_cli._table_scan import attribute_aliases, job_scan_request

if TYPE_CHECKING:
    from shepard_core import JobStatus

TAG_SPELLINGS: Final = ("TAG", "Tag", "tag")
"""The spellings of the TAG input a watcher reads: a projection names attributes exactly, and TAG may
be written in any case in inputs.txt; a tag under another spelling (`tAg`) is not seen."""

PROJECTED: Final = (
    Attr.UUID,
    Attr.JOB_STATUS,
    Attr.START_TIME,
    Attr.SUBMIT_TIME,
    Attr.FINISH_TIME,
    Attr.INPUT_ZIP_NAME,
    Attr.IS_INVOKED,
    Attr.REJECTION_REASON,
    Attr.FAILURE_REASON,
    Attr.EXIT_CODE,
    Attr.BATCH_JOB_ID,
    # What pricing a job's run needs (`shepard cost`, and the spend line of `shepard watch`).
    Attr.INSTANCE_TYPE,
    Attr.CAPACITY_TYPE,
    Attr.AVAILABILITY_ZONE,
    Attr.VCPUS,
    Attr.MEMORY_MIB,
    Attr.RUN_STARTED,
    Attr.RUN_ENDED,
    *TAG_SPELLINGS,
)
"""The only attributes a refresh reads of each row (never the inputs, which can be large)."""

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGO: Final = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])", re.IGNORECASE)


EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest moment `--since` may name: no job row is older than the Unix epoch."""


def parse_since(text: str, now: datetime) -> datetime:
    """Return the moment `text` names: an age such as `30m`, `2h`, `1d`, `1h30m`, or an ISO 8601 time.

    An ISO time without a zone is taken as local time. Raises ValueError when `text` is neither, or
    names a moment before 1970 or after `now`.
    """
    compact = text.strip().replace(" ", "")
    if compact.startswith("-") and _AGO.sub("", compact[1:]) == "" and compact[1:]:
        raise ValueError(f"{text!r} is a negative age; an age counts back from now, such as 30m or 2h")
    if compact and _AGO.sub("", compact) == "":
        seconds = sum(float(m["amount"]) * _UNITS[m["unit"].lower()] for m in _AGO.finditer(compact))
        oldest = (now - EARLIEST).total_seconds()
        if seconds > oldest:
            raise ValueError(
                f"{text!r} reaches back before 1970-01-01, where no job can be; give an age of at most "
                f"{int(oldest // _UNITS['d']):,}d, or an ISO time"
            )
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip())
        moment = (moment if moment.tzinfo else moment.astimezone()).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of the range of times a job can have") from None
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an age (30m, 2h, 1d, 1h30m) nor an ISO time (2026-05-01T14:00:00Z)"
        ) from None
    if moment < EARLIEST:
        raise ValueError(f"{text!r} is before 1970-01-01, where no job can be")
    if moment > now:
        raise ValueError(f"{text!r} is in the future (it is {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC now)")
    return moment


def iso_moment(moment: datetime) -> str:
    """Return `moment` in the row's ISO form (SHEPARD_SUBMIT_TIME, SHEPARD_FINISH_TIME): UTC, ms, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatchFilters:
    """Which rows are in view; an unset filter lets every row through."""

    since: datetime | None = None
    """Rows submitted (else started, else ended) at or after this moment; rows with no time yet too."""
    tag: str | None = None
    prefix: str | None = None
    """Start of the input zip's key."""
    status_words: tuple[str, ...] = ()
    """The `--status` words as given (lower case), to show what is in view."""
    statuses: frozenset[JobStatus] | None = None
    """Only rows with one of these statuses (what `status_words` select); None means every status."""

    def to_json(self) -> dict[str, Any]:
        """Return the filters as a JSON-ready dict (unset ones as null)."""
        return {
            "since": iso_moment(self.since) if self.since else None,
            "tag": self.tag,
            "prefix": self.prefix,
            "status": list(self.status_words) or None,
        }

    def describe(self) -> str:
        """Return the filters in a few words, or "all jobs" when none is set."""
        parts = []
        if self.since is not None:
            parts.append(f"since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        if self.tag is not None:
            parts.append(f"tag {self.tag}")
        if self.prefix:
            parts.append(f"zip key {self.prefix}*")
        if self.status_words:
            parts.append("status " + "/".join(self.status_words))
        return ", ".join(parts) or "all jobs"


def scan_request(table: str, filters: WatchFilters) -> dict[str, Any]:
    """Return the Scan arguments reading only the projected attributes of the rows the filters let through.

    Array manifest items and other items without JOB_STATUS are filtered out by DynamoDB.
    """
    alias = attribute_aliases(PROJECTED)
    values: dict[str, dict[str, str]] = {}
    conditions = []
    if filters.tag is not None:
        values[":tag"] = {"S": filters.tag}
        conditions.append("(" + " OR ".join(f"{alias[t]} = :tag" for t in TAG_SPELLINGS) + ")")
    if filters.prefix:
        values[":prefix"] = {"S": filters.prefix}
        conditions.append(f"begins_with({alias[Attr.INPUT_ZIP_NAME]}, :prefix)")
    if filters.since is not None:
        submit, start, finish = alias[Attr.SUBMIT_TIME], alias[Attr.START_TIME], alias[Attr.FINISH_TIME]
        # START_TIME has its own format (dashes in the time): each time is compared in its own format.
        values[":since_iso"] = {"S": iso_moment(filters.since)}
        values[":since_start"] = {"S": format_start_time(filters.since)}
        conditions.append(
            f"({submit} >= :since_iso"
            f" OR (attribute_not_exists({submit}) AND {start} >= :since_start)"
            f" OR (attribute_not_exists({submit}) AND attribute_not_exists({start})"
            f" AND (attribute_not_exists({finish}) OR {finish} >= :since_iso)))"
        )
    return job_scan_request(
        table,
        statuses=filters.statuses,
        projected=PROJECTED,
        conditions=tuple(conditions),
        values=values,
        require_status=True,
    )
