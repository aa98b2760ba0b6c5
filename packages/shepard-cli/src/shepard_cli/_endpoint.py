"""Call the batching endpoint with a client token and read its answer, for one job or a list of them."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from typing import Any, Final

from shepard_cli._errors import CliError

HTTP_OK: Final = 200
HTTP_MULTI_STATUS: Final = 207
HTTP_SERVER_ERROR: Final = 500
CLIENT_TOKEN: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
"""What the endpoint accepts as a client token."""


def new_client_token() -> str:
    """Return a fresh client token: each run of the command is a new request unless told otherwise."""
    return secrets.token_hex(16)


def check_client_token(token: str) -> str:
    """Return `token`, or raise CliError if the endpoint would refuse it."""
    if not CLIENT_TOKEN.match(token):
        raise CliError(
            f"--client-token {token!r} is not 1 to 64 letters, digits or ._:-",
            "Give a token such as run-2026-05-01 or leave the option out",
        )
    return token


def tokened_payload(payload: str, token: str) -> str:
    """Wrap the user's JSON text, unchanged, with the client token: `{"client_token": ..., "jobs": ...}`."""
    return f'{{"client_token": {json.dumps(token)}, "jobs": {payload}}}'


@dataclasses.dataclass(frozen=True)
class EndpointAnswer:
    """The endpoint's HTTP-style answer: its status code and JSON body."""

    status: int
    body: dict[str, Any]


def invoke_endpoint(lambda_client: Any, function: str, payload: str, *, token: str) -> EndpointAnswer:  # noqa: ANN401
    """Invoke the endpoint with the JSON `payload` under client `token`; return its answer.

    Raise CliError when the payload is not JSON (before calling), the function failed, or it answered
    something that is not the endpoint's answer.
    """
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Bytes of the command line that are not UTF-8 reach Python as lone surrogates.
        raise CliError(
            f"--json-payload is not UTF-8 text (character {exc.start} cannot be encoded)",
            "Write the payload as UTF-8, or escape the character as \\uXXXX",
        ) from None
    try:
        json.loads(payload)
    except ValueError as exc:
        raise CliError(
            f"--json-payload is not valid JSON: {exc}", 'Give an object such as {"NAME": "value"}'
        ) from None
    response = lambda_client.invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=tokened_payload(payload, token).encode(),
    )
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        raise CliError(
            f"the batching endpoint failed: {raw.decode('utf-8', 'replace')[:500]}",
            f"See its CloudWatch logs; run again with --client-token {token} to run no job twice",
        )
    try:
        answer = json.loads(raw)
        status = int(answer["statusCode"])
        body = answer.get("body", "{}")
        document = json.loads(body) if isinstance(body, str) else body
    except (ValueError, KeyError, TypeError):
        raise CliError(
            f"the batching endpoint answered something unexpected: {raw.decode('utf-8', 'replace')[:200]}",
            "Check --lambda-to-invoke names the flock's endpoint Lambda",
        ) from None
    return EndpointAnswer(status, document if isinstance(document, dict) else {"message": document})


def _job_id(entry: dict[str, Any]) -> object:
    return entry.get("uuid") or entry.get("UUID") or entry.get("job_id") or entry.get("job_uuid")


def submitted_line(entry: dict[str, Any]) -> str:
    """Return the line saying one job was submitted (or had been), with its AWS Batch job id."""
    batch_id = entry.get("batch_job_id") or entry.get("SHEPARD_BATCH_JOB_ID") or entry.get("batchJobId")
    verb = "was already submitted" if entry.get("duplicate") else "submitted"
    position = f" (job {entry['position']} of the list)" if "position" in entry else ""
    return f"Job {_job_id(entry)}{position} {verb}" + (f" (AWS Batch job {batch_id})" if batch_id else "")


def refused_line(entry: dict[str, Any]) -> str:
    """Return the line saying why one job was rejected, or could not be scheduled now."""
    code, detail = entry.get("error"), entry.get("message") or entry.get("reason")
    message = f"{code}: {detail}" if code and detail else str(detail or code or json.dumps(entry))
    position = f"job {entry['position']} of the list" if "position" in entry else "the job"
    job = f" (job {_job_id(entry)})" if _job_id(entry) else ""
    return f"{position} refused: {message}{job}"


def answer_lines(answer: EndpointAnswer, token: str) -> tuple[list[str], CliError | None]:
    """Return a line per job of the answer, and the error to exit with (None when every job was submitted)."""
    body = answer.body
    if "jobs" in body or "rejections" in body or "failures" in body:
        lines = [submitted_line(entry) for entry in body.get("jobs", [])]
        refused = [*body.get("rejections", []), *body.get("failures", [])]
        lines += [refused_line(entry) for entry in refused]
    elif answer.status == HTTP_OK and _job_id(body):
        return [submitted_line(body)], None
    else:
        lines = []
    if answer.status == HTTP_OK and lines:
        return lines, None
    if answer.status == HTTP_OK:
        return lines, CliError(
            f"the batching endpoint answered without a job id: {json.dumps(body)}", "See its logs"
        )
    if answer.status >= HTTP_SERVER_ERROR:
        hint = f"Run again with --client-token {token}: the jobs already submitted are not run twice"
    else:
        hint = "Fix the payload and send the refused jobs again"
    if lines:
        summary = body.get("message") or body.get("error") or json.dumps(body)
        return lines, CliError(f"the batching endpoint answered {answer.status}: {summary}", hint)
    code = body.get("error")
    detail = body.get("message") or body.get("reason")
    summary = f"{code}: {detail}" if code and detail else str(detail or code or json.dumps(body))
    summary += f" (job {body['uuid']})" if body.get("uuid") else ""
    return lines, CliError(f"the batching endpoint refused the job ({answer.status}): {summary}", hint)
