"""Names of the objects a job writes: outputs, error zips and rejection reports."""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import UTC, datetime
from typing import Final

_TAG_UNSAFE: Final = re.compile(r"[^A-Za-z0-9!_.*'()-]+")
MAX_TAG_LENGTH: Final = 200
MAX_S3_KEY_BYTES: Final = 1024
_REPORT_PREFIX: Final = "rejected/"
_REPORT_SUFFIX: Final = ".json"
START_TIME_FORMAT: Final = "%Y-%m-%dT%H-%M-%SZ"


class OutputKind(enum.StrEnum):
    """The file system an output zip was made from."""

    ROOT = "root"
    EFS = "efs"
    LUSTRE = "lustre"


def format_start_time(moment: datetime | None = None) -> str:
    """Return START_TIME for `moment` (default now): UTC, sortable, safe in S3 keys and file names."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.strftime(START_TIME_FORMAT)


def sanitize_tag(tag: str) -> str:
    """Return `tag` with every run of characters unsafe in an S3 key replaced by one underscore."""
    cleaned = _TAG_UNSAFE.sub("_", tag).strip("._")
    return cleaned[:MAX_TAG_LENGTH]


def _prefix(tag: str | None) -> str:
    cleaned = sanitize_tag(tag) if tag else ""
    return f"{cleaned}_" if cleaned else ""


def output_object_name(job_uuid: str, start_time: str, kind: OutputKind, tag: str | None = None) -> str:
    """Return the outputs-bucket key of one output zip: `[TAG_]result@<UUID>_<START_TIME>_<kind>.zip`."""
    return f"{_prefix(tag)}result@{job_uuid}_{start_time}_{OutputKind(kind).value}.zip"


def error_object_name(job_uuid: str, start_time: str, tag: str | None = None) -> str:
    """Return the errors-bucket key of a failed job's log zip: `[TAG_]error@<UUID>_<START_TIME>.zip`."""
    return f"{_prefix(tag)}error@{job_uuid}_{start_time}.zip"


def rejection_report_key(zip_key: str) -> str:
    """Return the errors-bucket key of the JSON report for a rejected job zip: `rejected/<zip key>.json`.

    A zip key too long for that to fit S3's 1024-byte limit keeps its start and ends in `~` and a
    digest of the whole key, so the report can still be written and stays one per zip key.
    """
    key = f"{_REPORT_PREFIX}{zip_key}{_REPORT_SUFFIX}"
    if len(key.encode()) <= MAX_S3_KEY_BYTES:
        return key
    digest = "~" + hashlib.sha256(zip_key.encode()).hexdigest()
    room = MAX_S3_KEY_BYTES - len(_REPORT_PREFIX) - len(digest) - len(_REPORT_SUFFIX)
    start = zip_key.encode()[:room].decode(errors="ignore")
    return f"{_REPORT_PREFIX}{start}{digest}{_REPORT_SUFFIX}"


def api_rejection_report_key(job_uuid: str) -> str:
    """Return the errors-bucket key of the JSON report for a rejected batching-endpoint request."""
    return f"rejected/api/{job_uuid}.json"
