"""Plain hints about a quick-deploy `run.sh` that `/bin/sh` cannot run as written (CRLF, a foreign `#!`)."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

READ_LIMIT: Final = 1024 * 1024
"""Only the start of a huge run.sh is looked at."""

_POSIX_SHELLS: Final = frozenset({"sh"})
"""Interpreters a `#!` line may name without a hint: quick deploy runs run.sh with /bin/sh anyway."""


def run_script_hints(script: Path) -> list[str]:
    """Return one plain sentence per reason `/bin/sh run.sh` may fail although the script looks right."""
    try:
        with script.open("rb") as f:
            data = f.read(READ_LIMIT)
    except OSError:
        return []
    hints: list[str] = []
    if b"\r\n" in data or data.endswith(b"\r"):
        hints.append(
            "run.sh has Windows (CRLF) line endings, so the shell sees a stray '\\r' at the end of every "
            "line; save it with LF endings (e.g. `dos2unix run.sh`, or your editor's line-ending setting)"
        )
    interpreter = _shebang_program(data)
    if interpreter is not None and interpreter not in _POSIX_SHELLS:
        first_line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
        hints.append(
            f"run.sh starts with {first_line!r}, but quick deploy runs it as `/bin/sh run.sh`, which "
            f"ignores that line; make run.sh a POSIX shell script that starts your program "
            f"(e.g. `exec {interpreter} main.py`)"
        )
    return hints


def _shebang_program(data: bytes) -> str | None:
    """Return the program a `#!` first line names (looking through `env`), or None without one."""
    if not data.startswith(b"#!"):
        return None
    words = data[2:].split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").split()
    if not words:
        return None
    program = posixpath.basename(words[0])
    if program == "env":
        rest = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        program = posixpath.basename(rest[0]) if rest else program
    return program
