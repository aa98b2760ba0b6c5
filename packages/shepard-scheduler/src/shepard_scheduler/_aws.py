"""AWS clients for the handlers, made once per Lambda environment and endpoint."""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

DEFAULT_MAX_ATTEMPTS = 5
MAX_POOL_CONNECTIONS = 40
"""Connections each client keeps: room for the scheduler's concurrent zip reads."""
RetryMode = Literal["legacy", "standard", "adaptive"]
_RETRY_MODES: dict[str, RetryMode] = {"legacy": "legacy", "standard": "standard", "adaptive": "adaptive"}
_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class AwsClients:
    """The three clients the scheduling core needs."""

    s3: S3Client
    dynamodb: DynamoDBClient
    batch: BatchClient


@functools.cache
def _make(
    endpoint_url: str | None, region: str | None, retry_mode: RetryMode, max_attempts: int
) -> AwsClients:
    config = Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    session = boto3.session.Session(region_name=region)
    return AwsClients(
        s3=session.client("s3", endpoint_url=endpoint_url, config=config),
        dynamodb=session.client("dynamodb", endpoint_url=endpoint_url, config=config),
        batch=session.client("batch", endpoint_url=endpoint_url, config=config),
    )


def aws_clients(environ: Mapping[str, str]) -> AwsClients:
    """Return clients for the endpoint, region and retry policy `environ` names (standard retries, 5 tries).

    `AWS_ENDPOINT_URL` points every client at a local endpoint; `AWS_RETRY_MODE` and
    `AWS_MAX_ATTEMPTS` tune botocore's retries of throttling and 5xx errors.
    """
    try:
        max_attempts = int(environ.get("AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    except ValueError:
        max_attempts = DEFAULT_MAX_ATTEMPTS
    with _lock:
        return _make(
            environ.get("AWS_ENDPOINT_URL") or None,
            environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            _RETRY_MODES.get(environ.get("AWS_RETRY_MODE", ""), "standard"),
            max(max_attempts, 1),
        )


def forget_clients() -> None:
    """Drop the cached clients, so the next call builds them anew (for tests and benchmarks)."""
    with _lock:
        _make.cache_clear()
