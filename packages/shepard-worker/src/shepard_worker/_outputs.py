"""Ship a job's results: each non-empty output folder as a zip, or on failure one error zip of logs."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import error_object_name, output_object_name

from shepard_worker._errors import UploadError
from shepard_worker._upload import S3Writer, part_size_for
from shepard_worker._zipping import has_entries, tree_size, zip_folder

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_s3 import S3Client

    from shepard_worker._logs import PayloadLog
    from shepard_worker._workspace import Workspace

log = logging.getLogger(__name__)

ERROR_ZIP_MEMBERS: Final = ("payload.log", "worker.log", "environment.json", "exit_code.txt", "reason.txt")


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
) -> list[str]:
    """Zip and upload every non-empty output folder under the seed's names; return the keys written."""
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
        try:
            with S3Writer(s3, bucket, key, part_size_for(size, part_size)) as writer:
                stats = zip_folder(dirs.output_dir, writer, compress_level)
        except (ClientError, BotoCoreError) as exc:
            raise UploadError(f"could not upload s3://{bucket}/{key}: {exc}") from exc
        except OSError as exc:
            raise UploadError(
                f"could not read the {dirs.kind.value} outputs for s3://{bucket}/{key}: {exc}"
            ) from exc
        log.info(
            "uploaded s3://%s/%s: %d files, %d bytes in, %d bytes zipped",
            bucket,
            key,
            stats.files,
            stats.bytes_in,
            writer.tell(),
        )
        keys.append(key)
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
    with (
        S3Writer(s3, bucket, key, part_size) as writer,
        zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
    ):
        with archive.open("payload.log", "w", force_zip64=True) as member:
            if payload_log is not None:
                shutil.copyfileobj(payload_log.read(), member, 1024 * 1024)
        archive.writestr("worker.log", worker_log)
        archive.writestr("environment.json", json.dumps(dict(environment), indent=2, sort_keys=True))
        archive.writestr("exit_code.txt", "" if exit_code is None else f"{exit_code}\n")
        archive.writestr("reason.txt", reason + "\n")
    log.info("uploaded the error zip s3://%s/%s", bucket, key)
    return key
