"""The files of a job folder: links that stay inside it are followed, every other link is refused.

A link to a file or a folder inside the job folder is zipped as what it points to, under the link's
own name. A link that leaves the folder, a dangling link and a link loop (a link to the folder or
a folder holding it) are refused together, in one message, before anything is zipped.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Iterator

LINK_POLICY: Final = (
    "Links inside the job folder are followed (files and folders); links that leave it, dangling links "
    "and link loops are refused, and nothing is uploaded"
)


@dataclasses.dataclass(frozen=True)
class JobFile:
    """One file to zip: where its bytes are read from and its name inside the zip."""

    source: Path
    name: str


@dataclasses.dataclass(frozen=True)
class _Folder:
    path: Path
    name: str
    chain: frozenset[str]


def _link_target(link: Path, root: str) -> tuple[str | None, str]:
    """Return the real path of an acceptable link, else None and why it is refused."""
    try:
        real = os.path.realpath(link, strict=True)
    except FileNotFoundError:
        return None, "dangling: nothing is there"
    except OSError:
        return None, "a link loop"
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return None, f"leaves the job folder for {real}"
    return real, ""


def _entries(folder: _Folder, root: str, refused: list[str]) -> Iterator[JobFile | _Folder]:
    with os.scandir(folder.path) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        name = f"{folder.name}{entry.name}"
        real = os.path.realpath(path)
        if entry.is_symlink():
            target, why = _link_target(path, root)
            shown = f"{name} -> {path.readlink()}"
            if target is None:
                refused.append(f"{shown} ({why})")
                continue
            if target in folder.chain:
                refused.append(f"{shown} (a link loop: it leads back to a folder holding it)")
                continue
            real = target
        mode = Path(real).stat().st_mode
        if stat.S_ISDIR(mode):
            yield _Folder(Path(real), f"{name}/", folder.chain | {real})
        elif stat.S_ISREG(mode):
            yield JobFile(Path(real), name)


def job_files(folder: Path) -> list[JobFile]:
    """Return the files to zip for `folder`, sorted by name, or raise CliError naming every refused link."""
    root = os.path.realpath(folder)
    refused: list[str] = []
    files: list[JobFile] = []
    todo = [_Folder(Path(root), "", frozenset({root}))]
    while todo:
        current = todo.pop()
        for item in _entries(current, root, refused):
            if isinstance(item, _Folder):
                todo.append(item)
            else:
                files.append(item)
    if refused:
        raise CliError(
            f"{folder} has {len(refused)} link(s) shepard batch does not follow: {'; '.join(refused)}",
            f"{LINK_POLICY}; replace them with the files themselves or with links inside the folder",
        )
    return sorted(files, key=lambda f: f.name)
