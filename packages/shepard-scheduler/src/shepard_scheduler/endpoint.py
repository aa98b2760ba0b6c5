"""The batching endpoint: a Lambda handler that schedules one job from a JSON object of inputs."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import JobStatus, TooDeeplyNestedError, job_id_for_api_request

from shepard_scheduler._aws import aws_clients
from shepard_scheduler._config import ConfigError, SchedulerConfig
from shepard_scheduler._core import Scheduler
from shepard_scheduler._observability import Tally, log_outcome, logger
from shepard_scheduler._outcome import JobInFlightError, OutcomeKind

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_HEADERS: Final = {"Content-Type": "application/json"}


def is_http_event(event: object) -> bool:
    """Return whether `event` is an API Gateway or function-URL request rather than the inputs themselves.

    Such an event has a `requestContext` object; a valid inputs object never does, since its values
    are strings, numbers or booleans.
    """
    return isinstance(event, dict) and isinstance(event.get("requestContext"), dict)


def request_payload(event: object) -> bytes:
    """Return the JSON bytes of the inputs an invocation carries, for validation like inputs.txt.

    Raise TooDeeplyNestedError for a direct invocation nested too deeply to write back as JSON.
    """
    if is_http_event(event):
        http = APIGatewayProxyEvent(event)  # type: ignore[arg-type]
        body = http.body or ""
        if http.is_base64_encoded:
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return body.encode()
        return body.encode()
    try:
        return json.dumps(event, ensure_ascii=False).encode()
    except RecursionError:
        raise TooDeeplyNestedError(
            "the request's inputs nest lists or objects too deeply to read; they must be one flat JSON "
            'object whose values are strings, numbers or booleans, such as {"NAME": "value"}'
        ) from None


def _response(status: int, body: dict[str, object]) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(_HEADERS), "body": json.dumps(body)}


def _schedule(
    scheduler: Scheduler, event: object, request_id: str, deadline: float, tally: Tally
) -> dict[str, Any]:
    try:
        try:
            payload = request_payload(event)
        except TooDeeplyNestedError as exc:
            outcome = scheduler.reject_api_request(exc, request_id=request_id, payload=b"")
        else:
            outcome = scheduler.schedule_api_request(payload, request_id=request_id, deadline=deadline)
    except JobInFlightError as exc:
        tally.count_failure()
        logger.warning("job already being submitted", extra={"reason": str(exc)})
        return _response(500, {"error": "JobInFlight", "uuid": exc.job_id, "message": str(exc)})
    except (ClientError, BotoCoreError) as exc:
        tally.count_failure()
        logger.exception("job not scheduled")
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        return _response(
            500,
            {
                "error": code or type(exc).__name__,
                "message": f"the job could not be scheduled now ({exc}); retry the request",
            },
        )
    tally.count(outcome)
    log_outcome(outcome, job_id=outcome.job_id)
    if outcome.batch_job_id is None:
        return _response(
            400,
            {
                "uuid": outcome.job_id,
                "job_status": JobStatus.REJECTED.value,
                "error": outcome.error or "Rejected",
                "message": outcome.reason,
                "report_key": outcome.report_key,
            },
        )
    return _response(
        200,
        {
            "uuid": outcome.job_id,
            "batch_job_id": outcome.batch_job_id,
            "job_status": JobStatus.SUBMITTED.value,
            "duplicate": outcome.kind is OutcomeKind.DUPLICATE,
        },
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:  # noqa: ANN401 - any JSON may be sent
    """Schedule the job the event's inputs describe; answer 200, 400 (invalid inputs) or 500.

    The event is the JSON object of inputs itself (a direct invocation), or an API Gateway /
    function-URL request whose `body` is that object.
    """
    try:
        config = SchedulerConfig.from_env(os.environ)
    except ConfigError as exc:
        logger.exception("endpoint misconfigured")
        return _response(500, {"error": "ConfigError", "message": str(exc)})
    clients = aws_clients(os.environ)
    scheduler = Scheduler(
        config, s3_client=clients.s3, dynamodb_client=clients.dynamodb, batch_client=clients.batch
    )
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    logger.append_keys(project=config.project_name, request_id=context.aws_request_id)
    # The job id follows from the request id, so even a failure before scheduling logs it.
    logger.set_correlation_id(job_id_for_api_request(context.aws_request_id))
    tally = Tally()
    try:
        return _schedule(scheduler, event, context.aws_request_id, deadline, tally)
    finally:
        tally.publish(config.project_name)
