"""Turn user mistakes and AWS or Docker failures into one line: the cause, then what to do."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; the message says what happened and what to do."""

    def __init__(self, cause: str, hint: str = "") -> None:
        """Keep the cause and the advice apart so both can be shown on one line."""
        super().__init__(f"{cause}. {hint}" if hint else cause)
        self.cause = cause
        self.hint = hint


_CLIENT_ERROR_HINTS = {
    "AccessDenied": "check the role and account you act as (shepard check-role) and its permissions",
    "AccessDeniedException": "check the role and account you act as (shepard check-role) and its permissions",
    "ExpiredToken": "your credentials expired: refresh them, or run shepard set-role again",
    "ExpiredTokenException": "your credentials expired: refresh them, or run shepard set-role again",
    "InvalidClientTokenId": "check your AWS credentials (aws configure) or the role you set",
    "UnrecognizedClientException": "check your AWS credentials (aws configure) or the role you set",
    "NoSuchBucket": "check the bucket name in your options or profile (shepard check-profile)",
    "ResourceNotFoundException": "check the resource name in your options or profile (shepard check-profile)",
    "RepositoryNotFoundException": "check --ecr-repo-to-push-to or your profile (shepard check-profile)",
    "ValidationError": "check the names in your options or profile (shepard check-profile)",
}


def explain(exc: BaseException) -> str | None:  # noqa: PLR0911 - one return per kind of failure
    """Return the one-line message for a failure the user can act on, or None for a genuine bug."""
    if isinstance(exc, CliError):
        return str(exc)
    import botocore.exceptions as bce

    if isinstance(exc, bce.ClientError):
        from shepard_core import error_code

        code = error_code(exc) or "Unknown"
        message = str(exc.response.get("Error", {}).get("Message", "")).rstrip(".")
        operation = exc.operation_name
        hint = _CLIENT_ERROR_HINTS.get(code, "check your options, profile and permissions")
        return f"AWS refused {operation}: {code}: {message or 'no message'}. {hint[0].upper()}{hint[1:]}"
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return (
            "No AWS credentials found. Run `aws configure`, set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or use an instance role"
        )
    if isinstance(exc, bce.NoRegionError):
        return "No AWS region configured. Run `aws configure` or set AWS_DEFAULT_REGION"
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectionClosedError | bce.ConnectTimeoutError):
        return f"Cannot reach AWS: {exc}. Check your network, or --endpoint-url / AWS_ENDPOINT_URL"
    if isinstance(exc, bce.ParamValidationError):
        return f"Invalid value for AWS: {str(exc).rstrip('.')}. Check the names in your options or profile"
    if isinstance(exc, bce.BotoCoreError):
        return f"AWS call failed: {str(exc).rstrip('.')}. Check your options, profile and network"
    special_message = _explain_transfer(exc) or _explain_docker(exc)
    if special_message is not None:
        return special_message
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"Cannot use {exc.filename}: {exc.strerror or exc}. Check the path and its permissions"
    return None


def _explain_transfer(exc: BaseException) -> str | None:
    import boto3.exceptions as b3e

    if not isinstance(exc, b3e.S3UploadFailedError | b3e.S3TransferFailedError | b3e.RetriesExceededError):
        return None
    # boto3's transfer manager wraps the client's error; explain the error it wrapped.
    wrapped = exc.__cause__ or exc.__context__ or getattr(exc, "last_exception", None)
    inner = explain(wrapped) if isinstance(wrapped, BaseException) else None
    return inner or f"S3 transfer failed: {exc}. Check the bucket name, your network and permissions"


def _explain_docker(exc: BaseException) -> str | None:
    try:
        import docker.errors
    except ImportError:  # pragma: no cover - docker is a dependency
        return None
    if isinstance(exc, docker.errors.BuildError):
        return f"Docker build failed: {exc.msg}. Fix the Dockerfile and deploy again"
    if isinstance(exc, docker.errors.APIError):
        return f"Docker refused: {exc.explanation or exc}. Check the image names and registry"
    if isinstance(exc, docker.errors.DockerException):
        return f"Cannot use Docker: {exc}. Start the Docker engine or set DOCKER_HOST"
    return None
