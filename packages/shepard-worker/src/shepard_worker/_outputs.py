"""Ship a job's results: each non-empty output folder as a zip, or on failure one error zip of logs."""

from __future__ import annotations

import functools
import json
import logging
import zipfile
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import error_object_name, output_object_name

from shepard_worker._errors import UploadError
from shepard_worker._tree import tree_size
from shepard_worker._upload import MIN_PART_SIZE, part_size_for, upload_stream
from shepard_worker._zipping import SKIPPED_REPORT, ZipStats, has_entries, zip_folder

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from shepard_worker._logs import PayloadLog
    from shepard_worker._upload import Pipe
    from shepard_worker._workspace import Workspace

log = logging.getLogger(__name__)

ERROR_ZIP_MEMBERS: Final = ("payload.log", "worker.log", "environment.json", "exit_code.txt", "reason.txt")


def _zip_into(folder: Path, compress_level: int, sink: Pipe) -> ZipStats:
    return zip_folder(folder, sink, compress_level)


def upload_outputs(  # noqa: PLR0913 - the names of the zips need the job's parts
    s3: S3Client,
    bucket: str,
    workspace: Workspace,
    *,
    job_uuid: str,
    start_time: str,
    tag: str | None,
    part_size: int,
    compress_level: int,
    sizes: list[int] | None = None,
) -> list[str]:
    """Zip and upload each non-empty output folder under the original Shepard's names; return the keys.

    Each uploaded zip's size in bytes is appended to `sizes` when given.
    """
    keys: list[str] = []
    for dirs in workspace.all:
        if dirs.output_dir.is_symlink() or not dirs.output_dir.is_dir():
            log.warning("%s is no longer a folder; nothing of it is uploaded", dirs.output_dir)
            continue
        if not has_entries(dirs.output_dir):
            log.info("%s output folder is empty; nothing to upload", dirs.kind.value)
            continue
        key = output_object_name(job_uuid, start_time, dirs.kind, tag)
        size = tree_size(dirs.output_dir)
        folder = dirs.output_dir
        try:
            stats, zipped = upload_stream(
                s3,
                bucket,
                key,
                part_size_for(size, part_size),
                functools.partial(_zip_into, folder, compress_level),
            )
        except (ClientError, BotoCoreError) as exc:
            raise UploadError(f"could not upload s3://{bucket}/{key}: {exc}") from exc
        except OSError as exc:
            raise UploadError(
                f"could not read the {dirs.kind.value} outputs for s3://{bucket}/{key}: {exc}"
            ) from exc
        log.info(
            "uploaded s3://%s/%s: %d files (%d deflated, %d stored), %d bytes in, %d bytes zipped",
            bucket,
            key,
            stats.files,
            stats.deflated,
            stats.stored,
            stats.bytes_in,
            zipped,
        )
        if stats.unreadable:
            log.warning(
                "%d %s outputs could not be read and are listed in %s inside the zip",
                len(stats.unreadable),
                dirs.kind.value,
                SKIPPED_REPORT,
            )
        keys.append(key)
        if sizes is not None:
            sizes.append(zipped)
    return keys


def upload_error_zip(  # noqa: PLR0913 - each piece of the report is its own argument
    s3: S3Client,
    bucket: str,
    *,
    job_uuid: str,
    start_time: str,
    tag: str | None,
    payload_log: PayloadLog | None,
    worker_log: str,
    environment: Mapping[str, str],
    exit_code: int | None,
    reason: str,
    part_size: int,
) -> str:
    """Upload the failed job's logs, environment (already redacted), exit code and reason; return the key."""
    key = error_object_name(job_uuid, start_time, tag)

    def write(sink: Pipe) -> None:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            with archive.open("payload.log", "w", force_zip64=True) as member:
                if payload_log is not None:
                    for chunk in payload_log.chunks():
                        member.write(chunk)
            archive.writestr("worker.log", worker_log)
            archive.writestr("environment.json", json.dumps(dict(environment), indent=2, sort_keys=True))
            archive.writestr("exit_code.txt", "" if exit_code is None else f"{exit_code}\n")
            archive.writestr("reason.txt", reason + "\n")

    upload_stream(s3, bucket, key, max(part_size, MIN_PART_SIZE), write)
    log.info("uploaded the error zip s3://%s/%s", bucket, key)
    return key
