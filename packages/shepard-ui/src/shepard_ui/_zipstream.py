"""One zip of many S3 objects, written as it is sent: no object and no zip is held whole in memory."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from mypy_boto3_s3 import S3Client

CHUNK_BYTES: Final = 1024 * 1024


class _Pipe:
    """A write-only, unseekable file whose written bytes are taken out by the reader in between writes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Nothing to flush: the reader takes the bytes."""

    def close(self) -> None:
        """Nothing to close: the reader takes the last bytes after the zip is closed."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_objects(s3: S3Client, objects: Iterable[tuple[str, str, str]]) -> Iterator[bytes]:
    """Yield the bytes of a zip (zip64) holding each (bucket, key, name in the zip) object, stored as is.

    The objects are zips already, so they are stored, not compressed again; each is read in chunks
    of CHUNK_BYTES and sent on, so memory stays flat whatever the sizes.
    """
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for bucket, key, name in objects:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in body.iter_chunks(CHUNK_BYTES):
                    member.write(chunk)
                    if data := pipe.take():
                        yield data
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data
