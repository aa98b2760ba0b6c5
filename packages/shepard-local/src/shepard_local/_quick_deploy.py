"""Upload a quick-deploy folder to a flock's quick deploy bucket."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}\Z")


class QuickDeployFolderError(Exception):
    """The folder cannot be quick-deployed."""


def upload_folder(s3: S3Client, bucket: str, folder: Path, name: str | None = None) -> tuple[str, int]:
    """Upload every file under `folder` to `bucket` under `name/`; return the prefix and the file count."""
    prefix = name or folder.resolve().name
    if not _NAME.match(prefix):
        raise QuickDeployFolderError(
            f"{prefix!r} cannot name a quick-deploy folder; use letters, digits, '_-.'"
        )
    if not (folder / "run.sh").is_file():
        raise QuickDeployFolderError(f"{folder} has no run.sh; a quick-deploy folder runs its run.sh")
    files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.is_symlink())
    for path in files:
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return prefix, len(files)
