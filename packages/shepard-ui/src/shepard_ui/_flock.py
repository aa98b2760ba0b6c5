"""What the web app acts on: the flock's table and buckets, and one boto3 client per AWS service."""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from shepard_cli._price_book import PriceBook


class ClientFactory(Protocol):
    """Anything that makes boto3 clients by service name (shepard-cli's `Aws` does)."""

    def client(self, service: str) -> Any:  # noqa: ANN401 - boto3 clients are typed by the caller
        """Return a client for `service`."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlockNames:
    """The flock's table and buckets, as the profile or the command's options name them."""

    table: str
    inputs_bucket: str | None = None
    outputs_bucket: str | None = None
    errors_bucket: str | None = None
    scheduler_queue_url: str | None = None
    profile_name: str | None = None
    endpoint_url: str | None = None


class Flock:
    """The flock's names and its AWS clients, made once and shared by every request (they are thread-safe)."""

    def __init__(self, names: FlockNames, factory: ClientFactory) -> None:
        """Keep the names; clients are made on first use, one per service."""
        self.names = names
        self._factory = factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._price_book: PriceBook | None = None

    def client(self, service: str) -> Any:  # noqa: ANN401 - typed by the properties below
        """Return the client of `service`, made on first use."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._factory.client(service)
            return self._clients[service]

    def price_book(self) -> PriceBook:
        """Return the flock's price book, made on first use and kept (it caches every quote).

        Through shepard-cli's `Aws`, prices are AWS's (cached in the CLI's home), or the fixed local
        figures at a local flock's endpoint; any other maker of clients has the local figures only.
        """
        from shepard_cli._aws import Aws
        from shepard_cli._price_book import PriceBook, price_book_for

        with self._lock:
            if self._price_book is None:
                factory = self._factory
                self._price_book = price_book_for(factory) if isinstance(factory, Aws) else PriceBook(None)
            return self._price_book

    @property
    def dynamodb(self) -> DynamoDBClient:
        """Return the DynamoDB client."""
        client: DynamoDBClient = self.client("dynamodb")
        return client

    @property
    def s3(self) -> S3Client:
        """Return the S3 client."""
        client: S3Client = self.client("s3")
        return client

    @property
    def batch(self) -> BatchClient:
        """Return the AWS Batch client."""
        client: BatchClient = self.client("batch")
        return client

    @property
    def logs(self) -> CloudWatchLogsClient:
        """Return the CloudWatch Logs client."""
        client: CloudWatchLogsClient = self.client("logs")
        return client
