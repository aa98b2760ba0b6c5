"""A write-only stream into one S3 object: small objects in one PUT, large ones as a multipart upload."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from types import TracebackType

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger(__name__)

MAX_PARTS: Final = 10_000
MIN_PART_SIZE: Final = 5 * 1024 * 1024
UPLOAD_THREADS: Final = 4


def part_size_for(expected_bytes: int, preferred: int) -> int:
    """Return a part size of at least `preferred` that keeps `expected_bytes` (+10%) under 10,000 parts."""
    needed = -(-int(expected_bytes * 1.1) // (MAX_PARTS - 100))
    return max(preferred, MIN_PART_SIZE, needed)


class S3Writer:
    """File-like sink that uploads what is written to `s3://bucket/key` while it is being written.

    Parts are sent by `threads` background threads (one more part may wait), so compressing and
    uploading overlap and memory stays near threads + 2 parts. Nothing is visible in S3 until
    `close()` succeeds; `abort()` (or leaving a `with` block by an exception) discards the upload.
    """

    def __init__(
        self, client: S3Client, bucket: str, key: str, part_size: int, threads: int = UPLOAD_THREADS
    ) -> None:
        """Prepare an upload to `bucket`/`key` in parts of `part_size` bytes, sent by `threads` threads."""
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_size = max(part_size, MIN_PART_SIZE)
        self._buffer = bytearray()
        self._position = 0
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._threads_wanted = max(1, threads)
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=1)
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._sent = 0
        self._closed = False

    @property
    def key(self) -> str:
        """The object's key."""
        return self._key

    def tell(self) -> int:
        """Return how many bytes were written (what zipfile needs of an unseekable stream)."""
        return self._position

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer `data`, handing full parts to the uploader."""
        if self._closed:
            raise ValueError("write to a closed S3Writer")
        self._raise_uploader_error()
        self._buffer += data
        self._position += len(data)
        while len(self._buffer) >= self._part_size:
            with memoryview(self._buffer) as view:
                part = bytes(view[: self._part_size])
            del self._buffer[: self._part_size]
            self._send(part)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: parts go out when full."""

    def close(self) -> None:
        """Upload what is left and make the object visible."""
        if self._closed:
            return
        self._closed = True
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
            self._buffer.clear()
            return
        try:
            if self._buffer:
                self._send(bytes(self._buffer))
                self._buffer.clear()
            self._stop_uploader()
            self._raise_uploader_error()
            self._parts.sort(key=lambda part: part["PartNumber"])
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except BaseException:
            self._stop_uploader()
            self._abort_upload()
            raise

    def abort(self) -> None:
        """Discard everything written; the object is not created."""
        self._closed = True
        self._buffer.clear()
        if self._upload_id is not None:
            self._stop_uploader()
            self._abort_upload()

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on success, abort on an exception."""
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _send(self, part: bytes) -> None:
        if self._upload_id is None:
            response = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = response["UploadId"]
            self._threads = [
                threading.Thread(target=self._upload_parts, name=f"s3-parts-{n}", daemon=True)
                for n in range(self._threads_wanted)
            ]
            for thread in self._threads:
                thread.start()
        self._sent += 1
        self._queue_put((self._sent, part))

    def _queue_put(self, item: tuple[int, bytes] | None) -> None:
        while True:
            self._raise_uploader_error()
            try:
                self._queue.put(item, timeout=0.5)
            except queue.Full:
                continue
            return

    def _upload_parts(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain: the writer sees the error on its next call
            number, data = item
            try:
                response = self._client.upload_part(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id or "",
                    PartNumber=number,
                    Body=data,
                )
                self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
            except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
                self._error = exc

    def _stop_uploader(self) -> None:
        alive = [thread for thread in self._threads if thread.is_alive()]
        for _ in alive:
            self._queue.put(None)
        for thread in alive:
            thread.join()
        self._threads = []

    def _raise_uploader_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _abort_upload(self) -> None:
        if self._upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except Exception:
            log.warning("could not abort the multipart upload of %s", self._key, exc_info=True)
        self._upload_id = None
