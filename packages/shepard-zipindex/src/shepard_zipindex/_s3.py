"""Serve byte ranges of an S3 object with ranged GETs: a suffix GET learns the size, no HEAD."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shepard_zipindex._errors import ObjectChangedError, ObjectNotFoundError, ReadFailedError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)\Z")
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "404"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})


class S3RangeReader:
    """Read ranges of one S3 object; every read after the first is pinned to the first read's ETag."""

    def __init__(self, s3_client: S3Client, bucket: str, key: str, *, version_id: str | None = None) -> None:
        """Remember the object; nothing is fetched until the first read."""
        self.client = s3_client
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.etag: str | None = None
        """The ETag seen by the first read; later reads send it as If-Match."""
        self.size: int | None = None

    def __repr__(self) -> str:
        """Name the object."""
        return f"S3RangeReader({self.uri})"

    @property
    def uri(self) -> str:
        """The object's s3:// address."""
        return f"s3://{self.bucket}/{self.key}"

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        """GET `Range: bytes=-length`; the total size comes from Content-Range (an empty object gives 416)."""
        if length <= 0:
            raise ValueError(f"length must be > 0, not {length}")
        from botocore.exceptions import ClientError

        try:
            response = self._get(f"bytes=-{length}")
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":
                # S3 answers 416 to any suffix range of an empty object: there is nothing to read.
                self.size = 0
                return b"", 0
            raise
        body = _read_body(response)
        content_range = response.get("ContentRange")
        if content_range:
            match = _CONTENT_RANGE.match(content_range)
            if match is None:
                raise ReadFailedError(
                    f"S3 answered a ranged read of {self.uri} with an unexpected Content-Range "
                    f"({content_range!r})."
                )
            size = int(match.group(3))
        else:
            # A 200 with the whole object: some S3-compatible stores ignore ranges on small objects.
            size = len(body)
            body = body[-length:]
        self.size = size
        return body, size

    def read_range(self, start: int, end: int) -> bytes:
        """GET `Range: bytes=start-(end-1)` of the same object version the first read saw."""
        if start < 0 or end < start:
            raise ValueError(f"invalid range [{start}, {end})")
        if start == end:
            return b""
        response = self._get(f"bytes={start}-{end - 1}")
        body = _read_body(response)
        if not response.get("ContentRange") and len(body) > end - start:
            body = body[start:end]
        return body

    def _get(self, byte_range: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, "Range": byte_range}
        if self.version_id is not None:
            kwargs["VersionId"] = self.version_id
        if self.etag is not None:
            kwargs["IfMatch"] = self.etag
        try:
            response: dict[str, Any] = dict(self.client.get_object(**kwargs))
        except ClientError as exc:
            code = _error_code(exc)
            if code in _NOT_FOUND_CODES:
                raise ObjectNotFoundError(f"There is no object {self.uri} (S3 answered {code}).") from exc
            if code in _CHANGED_CODES:
                raise ObjectChangedError(
                    f"The object {self.uri} was replaced while it was being read (it was uploaded again)."
                ) from exc
            raise
        if self.etag is None:
            self.etag = response.get("ETag")
        return response


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _read_body(response: dict[str, Any]) -> bytes:
    stream = response["Body"]
    try:
        data: bytes = stream.read()
    finally:
        stream.close()
    return data
