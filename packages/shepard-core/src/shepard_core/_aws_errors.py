"""The error codes Shepard tells apart in AWS's answers, and how to read one from a botocore ClientError."""

from __future__ import annotations

from typing import Final

CONDITION_FAILED_ERROR: Final = "ConditionalCheckFailedException"
"""The error code of a DynamoDB write whose ConditionExpression was false."""

TRANSACTION_CANCELLED_ERROR: Final = "TransactionCanceledException"
"""The error code of a DynamoDB TransactWriteItems that was cancelled (its reasons say why, per action)."""

CONDITION_FAILED_REASON: Final = "ConditionalCheckFailed"
"""The cancellation-reason code of a transaction action whose ConditionExpression was false."""


def error_code(exc: BaseException) -> str:
    """Return a botocore ClientError's code (`exc.response["Error"]["Code"]`), "" for anything else.

    Read defensively: an exception without a response, or a response without an error code, gives "".
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error")
    if not isinstance(error, dict):
        return ""
    code = error.get("Code")
    return "" if code is None else str(code)
