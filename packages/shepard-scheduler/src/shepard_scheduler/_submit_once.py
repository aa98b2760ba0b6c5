"""Keep the SDK from resending a SubmitJob that AWS Batch may already have carried out.

SubmitJob has no idempotency token: botocore's retries resend a request whose first copy may have
created the job before its answer was lost (a read timeout, a closed connection, a 5xx), which makes
two Batch jobs carrying one claim token. A resend is let through only when the first copy certainly
did nothing: it was throttled, or the connection never opened. Any other failure goes back to the
scheduler, which releases its claim; the redelivered message then claims the row with a new token,
and the worker's fence leaves a job the lost answer created (holding the old token) without a job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_batch import BatchClient

THROTTLING_CODES: Final = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
    }
)
"""Error codes that say the request was refused before anything was done."""

HTTP_TOO_MANY_REQUESTS: Final = 429
_HOOK_ID: Final = "shepard-submit-job-resend-only-if-not-run"


def resend_only_if_not_run(
    response: tuple[Any, dict[str, Any]] | None = None,
    caught_exception: Exception | None = None,
    **_: Any,  # noqa: ANN401 - botocore's needs-retry event arguments
) -> bool | None:
    """Return False (no resend) unless the SubmitJob certainly created nothing; None lets botocore decide."""
    if caught_exception is not None:
        never_sent = isinstance(caught_exception, EndpointConnectionError | ConnectTimeoutError)
        return None if never_sent else False
    if response is not None:
        http, parsed = response
        code = parsed.get("Error", {}).get("Code")
        if getattr(http, "status_code", None) == HTTP_TOO_MANY_REQUESTS or code in THROTTLING_CODES:
            return None
    return False


def submit_job_once(client: BatchClient) -> BatchClient:
    """Make `client`'s SubmitJob retries resend only requests that certainly did nothing; return it."""
    # The stubs type event handlers as returning None; needs-retry handlers answer False or a delay.
    handler = cast("Callable[..., None]", resend_only_if_not_run)
    client.meta.events.register_first("needs-retry.batch.SubmitJob", handler, unique_id=_HOOK_ID)
    return client
