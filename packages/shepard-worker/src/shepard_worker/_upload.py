"""Upload what a writer produces straight into one S3 object with boto3's transfer manager, never on disk.

The writer runs in its own thread and writes into a pipe; `upload_fileobj` reads the pipe as a
non-seekable stream: less than one part goes up in a single PUT, more as a multipart upload whose
parts are sent by several threads. Nothing is visible in S3 unless the writer finishes and every
part arrives; a failure on either side stops the other and aborts the multipart upload.
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from boto3.s3.transfer import TransferConfig

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

MAX_PARTS: Final = 10_000
MIN_PART_SIZE: Final = 5 * 1024 * 1024
UPLOAD_THREADS: Final = 4
BUFFERED_PARTS: Final = 4

T = TypeVar("T")


def part_size_for(expected_bytes: int, preferred: int) -> int:
    """Return a part size of at least `preferred` that keeps `expected_bytes` (+10%) under 10,000 parts."""
    needed = -(-int(expected_bytes * 1.1) // (MAX_PARTS - 100))
    return max(preferred, MIN_PART_SIZE, needed)


class PipeClosedError(OSError):
    """The other end of the pipe stopped: the upload failed, or the writer did."""


class Pipe:
    """A bounded in-memory pipe: a writer thread writes, the transfer manager reads full parts."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._written = 0
        self._finished = False
        self._failure: BaseException | None = None
        self._aborted = False
        self._lock = threading.Condition()

    # the writer's side

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue `data`, waiting while a full buffer is not read yet."""
        length = len(data)
        if not length:
            return 0
        with self._lock:
            self._lock.wait_for(lambda: self._aborted or self._buffered < self._capacity)
            if self._aborted:
                raise PipeClosedError("the upload stopped")
            self._chunks.append(bytes(data))
            self._buffered += length
            self._written += length
            self._lock.notify_all()
        return length

    def tell(self) -> int:
        """Return how many bytes were written (all zipfile needs of an unseekable stream)."""
        return self._written

    def flush(self) -> None:
        """Nothing to do: the reader takes what is written."""

    def close(self) -> None:
        """Nothing to do: `upload_stream` ends the stream when the writer returns."""

    def finish(self, failure: BaseException | None = None) -> None:
        """End the stream: the reader sees the end of the data, or `failure`."""
        with self._lock:
            self._finished = True
            self._failure = failure
            self._lock.notify_all()

    # the reader's side

    def read(self, size: int | None = -1) -> bytes:
        """Return `size` bytes (all that is left with -1), fewer only at the end of the stream."""
        with self._lock:
            wanted = size if size is not None and size >= 0 else None
            self._lock.wait_for(lambda: self._finished or (wanted is not None and self._buffered >= wanted))
            if self._failure is not None:
                raise PipeClosedError("the zip could not be written") from self._failure
            take = self._buffered if wanted is None else min(wanted, self._buffered)
            parts: list[bytes] = []
            missing = take
            while missing:
                chunk = self._chunks.popleft()
                if len(chunk) > missing:
                    self._chunks.appendleft(chunk[missing:])
                    chunk = chunk[:missing]
                parts.append(chunk)
                missing -= len(chunk)
            self._buffered -= take
            self._lock.notify_all()
        return b"".join(parts)

    def readable(self) -> bool:
        """A pipe can be read."""
        return True

    def seekable(self) -> bool:
        """A pipe cannot seek, so the transfer manager reads it part by part."""
        return False

    def abort(self) -> None:
        """Stop the writer: its next write raises PipeClosedError."""
        with self._lock:
            self._aborted = True
            self._chunks.clear()
            self._buffered = 0
            self._lock.notify_all()


class _Result(Generic[T]):
    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None


def transfer_config(part_size: int, threads: int = UPLOAD_THREADS) -> TransferConfig:
    """Return the transfer manager's settings: parts of `part_size`, `threads` senders, bounded buffering."""
    config = TransferConfig(
        multipart_threshold=part_size,
        multipart_chunksize=part_size,
        max_concurrency=threads,
        use_threads=True,
        preferred_transfer_client="classic",
    )
    config.max_in_memory_upload_chunks = BUFFERED_PARTS
    return config


def upload_stream(
    client: S3Client, bucket: str, key: str, part_size: int, write: Callable[[Pipe], T]
) -> tuple[T, int]:
    """Upload what `write(stream)` writes to `bucket`/`key`; return what it returned and the object's size.

    `write` runs in another thread; its exception (or the upload's) is raised here, and then the
    object does not exist.
    """
    pipe = Pipe(part_size)
    result: _Result[T] = _Result()

    def produce() -> None:
        try:
            result.value = write(pipe)
        except BaseException as exc:  # noqa: BLE001 - handed to the uploading thread
            result.error = exc
            pipe.finish(exc)
        else:
            pipe.finish()

    writer = threading.Thread(target=produce, name=f"zip-{key}"[:60], daemon=True)
    writer.start()
    try:
        client.upload_fileobj(pipe, bucket, key, Config=transfer_config(part_size))  # type: ignore[arg-type]
    except BaseException:
        pipe.abort()
        writer.join()
        if result.error is not None and not isinstance(result.error, PipeClosedError):
            raise result.error from None
        raise
    writer.join()
    if result.error is not None:
        raise result.error
    return result.value, pipe.tell()  # type: ignore[return-value]
