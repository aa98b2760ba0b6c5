"""The batching endpoint: a Lambda handler scheduling a job from a JSON object of inputs, or from a list."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from shepard_core import JobStatus, TooDeeplyNestedError, error_code, job_id_for_api_request

from shepard_scheduler._aws import aws_clients
from shepard_scheduler._client_token import InvalidClientTokenError, open_tokened_request
from shepard_scheduler._config import SchedulerConfig, SchedulerConfigError
from shepard_scheduler._core import Scheduler, api_job_id
from shepard_scheduler._observability import Tally, log_outcome, logger
from shepard_scheduler._outcome import JobInFlightError, OutcomeKind
from shepard_scheduler._request_list import MAX_JOBS_PER_REQUEST, split_job_list
from shepard_scheduler._rows import TABLE_WRITE_ERRORS

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
        # ASCII escapes keep a lone surrogate (which UTF-8 cannot write) for validation to name.
        return json.dumps(event).encode()
    except RecursionError:
        raise TooDeeplyNestedError(
            "the request's inputs nest lists or objects too deeply to read; they must be one flat JSON "
            'object whose values are strings, numbers or booleans, such as {"NAME": "value"}'
        ) from None


def request_time(event: object, default: float) -> float:
    """Return when an HTTP request reached AWS (requestContext.timeEpoch, epoch seconds), else `default`."""
    if is_http_event(event):
        epoch_ms = event["requestContext"].get("timeEpoch")  # type: ignore[index]
        if isinstance(epoch_ms, int | float) and not isinstance(epoch_ms, bool) and epoch_ms > 0:
            return epoch_ms / 1000
    return default


def _response(status: int, body: dict[str, object]) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(_HEADERS), "body": json.dumps(body)}


def _error_name(exc: Exception) -> str:
    return error_code(exc) or type(exc).__name__


def _schedule(
    scheduler: Scheduler, event: object, request_id: str, deadline: float, tally: Tally
) -> dict[str, Any]:
    try:
        try:
            payload = request_payload(event)
        except TooDeeplyNestedError as exc:
            outcome = scheduler.reject_api_request(exc, request_id=request_id, payload=b"")
        else:
            try:
                tokened = open_tokened_request(payload)
            except InvalidClientTokenError as exc:
                return _response(400, {"error": "InvalidClientToken", "message": str(exc)})
            if tokened is not None:
                payload, request_id = tokened.jobs, tokened.request_key
            jobs = split_job_list(payload)
            if jobs is not None:
                return _schedule_list(scheduler, jobs, request_id, deadline, tally)
            outcome = scheduler.schedule_api_request(payload, request_id=request_id, deadline=deadline)
    except JobInFlightError as exc:
        tally.count_failure()
        logger.warning("job already being submitted", extra={"reason": str(exc)})
        return _response(500, {"error": "JobInFlight", "uuid": exc.job_id, "message": str(exc)})
    except TABLE_WRITE_ERRORS as exc:
        tally.count_failure()
        logger.exception("job not scheduled")
        return _response(
            500,
            {
                "error": _error_name(exc),
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


def _schedule_list(
    scheduler: Scheduler, jobs: list[bytes], request_id: str, deadline: float, tally: Tally
) -> dict[str, Any]:
    """Schedule a request's valid jobs as one array and reject each invalid one alone; answer every job."""
    if not jobs or len(jobs) > MAX_JOBS_PER_REQUEST:
        error = "EmptyJobList" if not jobs else "TooManyJobs"
        message = (
            f"a request lists 1 to {MAX_JOBS_PER_REQUEST:,} jobs, not {len(jobs):,}; nothing was scheduled"
        )
        return _response(400, {"error": error, "message": message})
    results = scheduler.schedule_api_requests(jobs, request_id=request_id, deadline=deadline)
    rejections: list[dict[str, object]] = []
    failures: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    for position, (job_id, result) in enumerate(
        zip((api_job_id(request_id, n) for n in range(len(jobs))), results, strict=True)
    ):
        if isinstance(result, Exception):
            tally.count_failure()
            logger.error("job not scheduled", exc_info=result, extra={"job_id": job_id, "position": position})
            failures.append(
                {"position": position, "uuid": job_id, "error": _error_name(result), "message": str(result)}
            )
            continue
        tally.count(result)
        log_outcome(result, job_id=job_id, position=position)
        if result.kind is OutcomeKind.IGNORED:
            continue
        if result.kind is OutcomeKind.REJECTED or (result.batch_job_id is None and result.report_key):
            rejections.append(
                {
                    "position": position,
                    "uuid": job_id,
                    "error": result.error or "Rejected",
                    "message": result.reason,
                    "report_key": result.report_key,
                }
            )
            continue
        answers.append(
            {
                "position": position,
                "uuid": job_id,
                "batch_job_id": result.batch_job_id,
                "job_status": JobStatus.SUBMITTED.value,
                "duplicate": result.kind is OutcomeKind.DUPLICATE,
            }
        )
    return _list_response(len(jobs), answers, rejections, failures)


def _list_response(
    count: int,
    answers: list[dict[str, object]],
    rejections: list[dict[str, object]],
    failures: list[dict[str, object]],
) -> dict[str, Any]:
    """Answer a list: 200 all submitted, 207 some rejected and the rest submitted, 400 all rejected, 500."""
    if failures:
        message = f"{len(failures)} of {count} jobs could not be scheduled now; retry the request"
        body = {"error": failures[0]["error"], "message": message, "failures": failures}
        return _response(500, {**body, "jobs": answers, "rejections": rejections})
    if rejections:
        scheduled = "the others were scheduled" if answers else "nothing was scheduled"
        message = f"{len(rejections)} of {count} jobs are invalid; {scheduled}"
        body = {"error": "Rejected", "message": message, "jobs": answers, "rejections": rejections}
        return _response(207 if answers else 400, body)
    return _response(200, {"jobs": answers})


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:  # noqa: ANN401 - any JSON may be sent
    """Schedule the job (or list of jobs) the event's inputs describe; answer 200, 207, 400 (invalid) or 500.

    The event is the JSON object of inputs itself (a direct invocation), or an API Gateway /
    function-URL request whose `body` is that object; a JSON list of up to 1,000 such objects is
    scheduled as one array of its valid jobs (207 names the invalid ones, each rejected alone).
    `{"client_token": TOKEN, "jobs": object or list}` makes a repeat of the request schedule nothing twice.
    """
    started = time.time()
    try:
        config = SchedulerConfig.from_env(os.environ)
    except SchedulerConfigError as exc:
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
    tally = Tally(arrived_at=request_time(event, started))
    try:
        return _schedule(scheduler, event, context.aws_request_id, deadline, tally)
    finally:
        tally.publish(config.project_name)
