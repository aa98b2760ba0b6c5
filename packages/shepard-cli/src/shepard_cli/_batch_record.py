"""The record of a `shepard batch`: a TSV naming, for each job, where it came from, its key and job UUID."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from pathlib import Path

    from shepard_cli._batch import BatchedJob

RECORD_COLUMNS: Final = ("source", "line", "key", "version_id", "job_uuid")
"""The record's header: the TSV (or folder) a job came from, its line there, its object and job UUID."""


def default_record_path(folder: Path, now: dt.datetime | None = None) -> Path:
    """Return a fresh record file name in `folder`, stamped with the UTC time (never an existing file)."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"shepard-batch-{stamp}.tsv"
    suffix = 1
    while path.exists():
        suffix += 1
        path = folder / f"shepard-batch-{stamp}-{suffix}.tsv"
    return path


def _cell(value: object) -> str:
    """Return a value as one record cell: tabs and line breaks, which would split it, are escaped."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def record_lines(batched: list[BatchedJob]) -> list[str]:
    """Return the record's lines, header first, jobs in the order of their source and line."""
    ordered = sorted(batched, key=lambda b: (str(b.job.source or b.job.folder), b.job.line or 0, b.key))
    lines = ["\t".join(RECORD_COLUMNS)]
    for item in ordered:
        source = item.job.source or item.job.folder
        cells = (source, item.job.line, item.key, item.version_id, item.job_uuid)
        lines.append("\t".join(_cell(cell) for cell in cells))
    return lines


def write_record(path: Path, batched: list[BatchedJob]) -> None:
    """Write the record of the batched jobs to `path`, or raise CliError saying why it could not be."""
    try:
        path.write_text("\n".join(record_lines(batched)) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(
            f"the jobs were uploaded but their record could not be written to {path}: {exc.strerror or exc}",
            "Give --record a writable path next time; `shepard query` lists the jobs with their zips",
        ) from None
