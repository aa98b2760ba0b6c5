"""Names of the objects a job writes: outputs, error zips and rejection reports."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from datetime import UTC, datetime
from typing import Final

_TAG_UNSAFE: Final = re.compile(r"[^A-Za-z0-9!_.*'()-]+")
MAX_TAG_LENGTH: Final = 200
MAX_S3_KEY_BYTES: Final = 1024
REJECTED_PREFIX: Final = "rejected/"
"""The errors-bucket prefix of every rejection report."""
API_REJECTED_PREFIX: Final = f"{REJECTED_PREFIX}api/"
"""The errors-bucket prefix of the rejection reports of batching-endpoint requests."""
OUTPUT_MARKER: Final = "result@"
"""What comes between the tag and the job's UUID in an output zip's key."""
ERROR_MARKER: Final = "error@"
"""What comes between the tag and the job's UUID in an error zip's key."""
_REPORT_SUFFIX: Final = ".json"
_DIGEST_SUFFIX: Final = re.compile(r"~[0-9a-f]{64}\Z")
# A sanitised tag never holds "@" or "/", and START_TIME never holds "_", so each part of a key is
# found unambiguously even when the tag and the UUID hold underscores.
_TAG_PART: Final = r"(?:(?P<tag>[A-Za-z0-9!_.*'()-]+)_)?"
_UUID_PART: Final = r"(?P<uuid>[A-Za-z0-9_-]{1,128})"
_JOB_PART: Final = rf"{_UUID_PART}_(?P<start>[A-Za-z0-9.:+-]+)"
_ERROR_KEY: Final = re.compile(rf"{_TAG_PART}{re.escape(ERROR_MARKER)}{_JOB_PART}\.zip\Z")
_API_REPORT_KEY: Final = re.compile(rf"{re.escape(API_REJECTED_PREFIX)}{_UUID_PART}\.json")
START_TIME_FORMAT: Final = "%Y-%m-%dT%H-%M-%SZ"


class OutputKind(enum.StrEnum):
    """The file system an output zip was made from."""

    ROOT = "root"
    EFS = "efs"
    LUSTRE = "lustre"


_OUTPUT_KEY: Final = re.compile(
    rf"{_TAG_PART}{re.escape(OUTPUT_MARKER)}{_JOB_PART}_(?P<kind>{'|'.join(OutputKind)})\.zip\Z"
)


def format_start_time(moment: datetime | None = None) -> str:
    """Return START_TIME for `moment` (default now): UTC, sortable, safe in S3 keys and file names."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.strftime(START_TIME_FORMAT)


def sanitize_tag(tag: str) -> str:
    """Return `tag` with every run of characters unsafe in an S3 key replaced by one underscore."""
    cleaned = _TAG_UNSAFE.sub("_", tag).strip("._")
    return cleaned[:MAX_TAG_LENGTH]


def _prefix(tag: str | None) -> str:
    return _prefix_as_is(sanitize_tag(tag) if tag else None)


def _prefix_as_is(tag: str | None) -> str:
    return f"{tag}_" if tag else ""


def output_object_name(job_uuid: str, start_time: str, kind: OutputKind, tag: str | None = None) -> str:
    """Return the outputs-bucket key of one output zip: `[TAG_]result@<UUID>_<START_TIME>_<kind>.zip`."""
    return f"{_prefix(tag)}{OUTPUT_MARKER}{job_uuid}_{start_time}_{OutputKind(kind).value}.zip"


def error_object_name(job_uuid: str, start_time: str, tag: str | None = None) -> str:
    """Return the errors-bucket key of a failed job's log zip: `[TAG_]error@<UUID>_<START_TIME>.zip`."""
    return f"{_prefix(tag)}{ERROR_MARKER}{job_uuid}_{start_time}.zip"


def rejection_report_key(zip_key: str) -> str:
    """Return the errors-bucket key of the JSON report for a rejected job zip: `rejected/<zip key>.json`.

    A zip key too long for that to fit S3's 1024-byte limit keeps its start and ends in `~` and a
    digest of the whole key, so the report can still be written and stays one per zip key.
    """
    key = f"{REJECTED_PREFIX}{zip_key}{_REPORT_SUFFIX}"
    if len(key.encode()) <= MAX_S3_KEY_BYTES:
        return key
    digest = "~" + hashlib.sha256(zip_key.encode()).hexdigest()
    room = MAX_S3_KEY_BYTES - len(REJECTED_PREFIX) - len(digest) - len(_REPORT_SUFFIX)
    start = zip_key.encode()[:room].decode(errors="ignore")
    return f"{REJECTED_PREFIX}{start}{digest}{_REPORT_SUFFIX}"


def api_rejection_report_key(job_uuid: str) -> str:
    """Return the errors-bucket key of the JSON report for a rejected batching-endpoint request."""
    return f"{API_REJECTED_PREFIX}{job_uuid}{_REPORT_SUFFIX}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutputObjectName:
    """What an output zip's key says: whose job made it, when, from which file system, under which tag."""

    job_uuid: str
    start_time: str
    kind: OutputKind
    tag: str | None = None
    """The sanitised TAG as the key holds it, or None for an untagged job."""

    @property
    def key(self) -> str:
        """Return the outputs-bucket key this name stands for (the tag as it is, not sanitised again)."""
        return (
            f"{_prefix_as_is(self.tag)}{OUTPUT_MARKER}{self.job_uuid}_{self.start_time}_{self.kind.value}.zip"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErrorObjectName:
    """What an error zip's key says: whose job failed, when it started, under which tag."""

    job_uuid: str
    start_time: str
    tag: str | None = None
    """The sanitised TAG as the key holds it, or None for an untagged job."""

    @property
    def key(self) -> str:
        """Return the errors-bucket key this name stands for (the tag as it is, not sanitised again)."""
        return f"{_prefix_as_is(self.tag)}{ERROR_MARKER}{self.job_uuid}_{self.start_time}.zip"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RejectionReportName:
    """What a rejection report's key says about the job it refused: a job zip or an endpoint request."""

    key: str
    zip_key: str | None = None
    """The refused job zip's key, or None for an endpoint request or a zip key too long to keep whole."""
    job_uuid: str | None = None
    """The refused batching-endpoint request's job id, or None for a job zip."""

    def is_for_zip(self, zip_key: str) -> bool:
        """Return whether this is the report on the job zip `zip_key` (also when that key was shortened)."""
        return self.job_uuid is None and rejection_report_key(zip_key) == self.key


def parse_output_object_name(key: str) -> OutputObjectName | None:
    """Return what the output zip key `key` names, or None when `key` is not a Shepard output's key."""
    found = _OUTPUT_KEY.fullmatch(key)
    if found is None:
        return None
    return OutputObjectName(
        job_uuid=found["uuid"], start_time=found["start"], kind=OutputKind(found["kind"]), tag=found["tag"]
    )


def parse_error_object_name(key: str) -> ErrorObjectName | None:
    """Return what the error zip key `key` names, or None when `key` is not a Shepard error zip's key."""
    found = _ERROR_KEY.fullmatch(key)
    if found is None:
        return None
    return ErrorObjectName(job_uuid=found["uuid"], start_time=found["start"], tag=found["tag"])


def parse_rejection_report_key(key: str) -> RejectionReportName | None:
    """Return what the rejection report key `key` names, or None when it is not a rejection report's key.

    `rejected/api/<job id>.json` is read as an endpoint request's report (a job zip named
    `api/<job id>` without an extension would have the same report key).
    """
    if not key.startswith(REJECTED_PREFIX) or not key.endswith(_REPORT_SUFFIX):
        return None
    api = _API_REPORT_KEY.fullmatch(key)
    if api is not None:
        return RejectionReportName(key=key, job_uuid=api["uuid"])
    zip_key = key[len(REJECTED_PREFIX) : -len(_REPORT_SUFFIX)]
    if not zip_key:
        return None
    if len(key.encode()) > MAX_S3_KEY_BYTES - len(_REPORT_SUFFIX) and _DIGEST_SUFFIX.search(zip_key):
        return RejectionReportName(key=key)
    return RejectionReportName(key=key, zip_key=zip_key)
