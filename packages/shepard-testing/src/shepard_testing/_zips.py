"""Job zips and other test archives, built in memory."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping

Members = Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str]]
FIXED_DATE_TIME = (2024, 1, 2, 3, 4, 6)


def make_zip(
    members: Members,
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    force_zip64: bool = False,
) -> bytes:
    """Return the bytes of a zip holding `members` (name -> content; a name ending in "/" is a folder).

    Every member carries the same timestamp, so equal members make equal bytes.
    """
    items = members.items() if isinstance(members, Mapping) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in items:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = compression
            if name.endswith("/"):
                archive.writestr(info, b"")
                continue
            data = content.encode() if isinstance(content, str) else content
            with archive.open(info, "w", force_zip64=force_zip64) as member:
                member.write(data)
        archive.comment = comment
    return buffer.getvalue()


def job_zip(inputs: Mapping[str, str], files: Mapping[str, bytes | str] | None = None) -> bytes:
    """Return a job zip: `inputs` as its JSON inputs.txt, beside `files`."""
    return make_zip({"inputs.txt": json.dumps(dict(inputs)), **(files or {})})
