"""Paths that come from users and become folders or files on a worker: checked before a job runs."""

from __future__ import annotations

import posixpath
from typing import Final

MAX_FILE_NAME_BYTES: Final = 255
"""The longest file or folder name ext4, xfs and overlayfs hold (NAME_MAX)."""


class UnusablePathError(ValueError):
    """A path from a job cannot name a folder or file on the worker; the message says why."""


def _name_problem(name: str) -> str | None:
    if name in {"", ".", ".."}:
        return "may not contain '..', '.' or empty parts"
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FILE_NAME_BYTES:
        return f"has a part of {size:,} bytes; file systems hold names of at most {MAX_FILE_NAME_BYTES} bytes"
    return None


def folder_parts(path: str, what: str) -> tuple[str, ...]:
    """Return the parts of the relative folder `path` (a trailing `/` allowed), or raise UnusablePathError.

    `what` names the path in the message (e.g. "QUICK_DEPLOY_DIRECTORY").
    """
    if path.startswith("/") or "\\" in path or "\0" in path:
        raise UnusablePathError(f"{what} {path!r} must be a relative folder path such as 'tools/v2'")
    parts = tuple(path.removesuffix("/").split("/"))
    for part in parts:
        problem = _name_problem(part)
        if problem is not None:
            raise UnusablePathError(f"{what} {path!r} {problem}")
    return parts


def input_zip_file_name(key: str) -> str:
    """Return the file name a job zip is staged under (the key's last part), or raise UnusablePathError."""
    name = posixpath.basename(key)
    problem = _name_problem(name)
    if problem is not None or "\0" in key:
        raise UnusablePathError(
            f"the object key {key!r} cannot be staged as a file: its file name "
            f"{problem or 'holds a NUL character'}; rename the zip"
        )
    return name
