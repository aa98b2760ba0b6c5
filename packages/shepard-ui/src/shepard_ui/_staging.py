"""Put what the browser sent (a folder's files, a zip, a TSV) back on disk as a job folder, safely.

The folder is then checked and zipped by exactly the code of `shepard batch`. Every name the browser
gives is a relative path checked here: no absolute paths, no `..`, no empty or `.` parts, no backslashes.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Iterable

INPUTS_FILE: Final = "inputs.txt"
MAX_MEMBERS: Final = 100_000


def safe_parts(name: str) -> tuple[str, ...]:
    """Return the parts of a relative path given by the browser, or raise CliError for an unsafe one."""
    if "\\" in name or "\x00" in name:
        raise CliError(f"the file name {name!r} holds a backslash or NUL", "Rename the file")
    path = PurePosixPath(name)
    parts = tuple(part for part in path.parts if part not in {"", "."})
    if path.is_absolute() or not parts or ".." in parts:
        raise CliError(f"the file name {name!r} is not a plain relative path", "Rename the file")
    return parts


def _strip_common_top(paths: list[tuple[str, ...]]) -> tuple[str | None, list[tuple[str, ...]]]:
    """Return the one folder every path starts with (the folder the user chose) and the paths inside it."""
    tops = {parts[0] for parts in paths}
    if len(tops) == 1 and all(len(parts) > 1 for parts in paths):
        return tops.pop(), [parts[1:] for parts in paths]
    return None, paths


def stage_files(files: Iterable[tuple[str, IO[bytes]]], scratch: Path, default_name: str = "job") -> Path:
    """Write (relative name, content) pairs into a folder under `scratch` named as the chosen folder.

    Return that folder; files sent without a common folder go into `default_name`.
    """
    items = list(files)
    if not items:
        raise CliError("no files were sent", "Drop a job folder holding inputs.txt")
    top, relative = _strip_common_top([safe_parts(name) for name, _ in items])
    folder = scratch / (top or default_name)
    folder.mkdir(parents=True, exist_ok=True)
    for parts, (_, content) in zip(relative, items, strict=True):
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            shutil.copyfileobj(content, out)
    return folder


def stage_zip(archive_file: IO[bytes], folder: Path) -> Path:
    """Unpack a job zip into `folder` (each member's name checked); return the job folder inside it.

    A zip holding one folder with the job in it (no inputs.txt at its top) gives that folder.
    """
    try:
        archive = zipfile.ZipFile(archive_file)
    except zipfile.BadZipFile:
        raise CliError("the file is not a zip archive", "Drop a .zip made from a job folder") from None
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise CliError(f"the zip holds more than {MAX_MEMBERS:,} files", "Batch a smaller job")
        folder.mkdir(parents=True, exist_ok=True)
        for member in members:
            target = folder.joinpath(*safe_parts(member.filename))
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
    entries = list(folder.iterdir())
    if not (folder / INPUTS_FILE).exists() and len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder
