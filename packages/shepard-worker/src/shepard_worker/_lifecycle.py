"""One job from claim to final status: stage, run the payload, ship outputs or an error zip, clean up."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from shepard_core import QUICK_DEPLOY_DIRECTORY, TAG, JobRow, JobStatus, JobUsage, special_value

from shepard_worker._environment import payload_environment, redact
from shepard_worker._errors import (
    ExitCode,
    LostOwnershipError,
    TerminatedError,
    WorkerError,
)
from shepard_worker._instance import instance_facts
from shepard_worker._job_lookup import locate_job
from shepard_worker._logs import PayloadLog, WorkerLog
from shepard_worker._metrics import JobMeasures, emf_document, publish
from shepard_worker._outputs import upload_error_zip, upload_outputs
from shepard_worker._run_script import run_script_hints
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._signals import StopSignal
from shepard_worker._staging import (
    RUN_SCRIPT,
    download_input_zip,
    fetch_quick_deploy,
    staged_zip_name,
    write_secrets,
)
from shepard_worker._table import AttemptRow
from shepard_worker._workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from shepard_worker._config import WorkerConfig

log = logging.getLogger("shepard_worker")

POLL_SECONDS = 0.2


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobResult:
    """How a job ended: the worker's exit code, the row's last status and what was uploaded."""

    exit_code: ExitCode
    status: JobStatus | None = None
    payload_exit_code: int | None = None
    output_keys: tuple[str, ...] = ()
    error_key: str | None = None
    reason: str | None = None


def make_runtime(config: WorkerConfig) -> Runtime:
    """Return the runtime SHEPARD_RUNTIME names: DockerRuntime (default) or ProcessRuntime."""
    if config.runtime == "process":
        from shepard_worker._process_runtime import ProcessRuntime

        return ProcessRuntime()
    from shepard_worker._docker_runtime import DockerRuntime

    return DockerRuntime.from_config(config)


def _clients(config: WorkerConfig) -> tuple[S3Client, DynamoDBClient, SecretsManagerClient]:
    import boto3

    session = boto3.session.Session(region_name=config.region)
    options: dict[str, Any] = {"endpoint_url": config.aws_endpoint_url} if config.aws_endpoint_url else {}
    return (
        session.client("s3", **options),
        session.client("dynamodb", **options),
        session.client("secretsmanager", **options),
    )


def run_job(  # noqa: PLR0913 - every collaborator is injectable
    config: WorkerConfig,
    *,
    s3: S3Client | None = None,
    dynamodb: DynamoDBClient | None = None,
    secretsmanager: SecretsManagerClient | None = None,
    runtime: Runtime | None = None,
    stop_event: threading.Event | None = None,
    handle_signals: bool = True,
    echo: IO[bytes] | None = None,
    metrics: IO[bytes] | None = None,
) -> JobResult:
    """Run the job `config` names to its end and return how it ended (never raises for a job's failure).

    Setting `stop_event` stops the job like SIGTERM does. With `handle_signals` (and on the main
    thread) SIGTERM sets it. The payload's output is echoed line by line to `echo` (default stdout);
    the job's EMF metrics document goes to `metrics` (default stdout) once the job has ended.
    """
    stop = stop_event if stop_event is not None else threading.Event()
    if s3 is None or dynamodb is None or secretsmanager is None:
        default_s3, default_dynamodb, default_secrets = _clients(config)
        s3 = s3 or default_s3
        dynamodb = dynamodb or default_dynamodb
        secretsmanager = secretsmanager or default_secrets
    try:
        config = locate_job(config, dynamodb)
    except WorkerError as exc:
        log.error("%s", exc)  # noqa: TRY400 - a known refusal, not a crash
        return JobResult(exit_code=exc.exit_code, reason=str(exc))
    except Exception as exc:
        log.exception("could not read the array's manifest")
        return JobResult(exit_code=ExitCode.INTERNAL_ERROR, reason=f"could not find the job: {exc}")
    owned_runtime = runtime is None
    worker_log = WorkerLog()
    signals = StopSignal(stop, config.stop_grace_seconds)
    with _capture(worker_log), signals.installed(enabled=handle_signals):
        job = _Job(
            config,
            s3=s3,
            dynamodb=dynamodb,
            secretsmanager=secretsmanager,
            runtime=runtime or make_runtime(config),
            signals=signals,
            worker_log=worker_log,
            echo=echo,
            metrics=metrics,
        )
        try:
            return job.run()
        finally:
            if owned_runtime:
                job.runtime.close()


@contextlib.contextmanager
def _capture(handler: WorkerLog) -> Iterator[None]:
    previous = log.level
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)


class _Job:
    def __init__(  # noqa: PLR0913 - the job's collaborators
        self,
        config: WorkerConfig,
        *,
        s3: S3Client,
        dynamodb: DynamoDBClient,
        secretsmanager: SecretsManagerClient,
        runtime: Runtime,
        signals: StopSignal,
        worker_log: WorkerLog,
        echo: IO[bytes] | None,
        metrics: IO[bytes] | None,
    ) -> None:
        self.config = config
        self.s3 = s3
        self.secretsmanager = secretsmanager
        self.runtime = runtime
        self.signals = signals
        self.worker_log = worker_log
        self.echo = echo
        self.metrics = metrics
        self.table = AttemptRow(
            dynamodb,
            config.table_name,
            config.job_uuid,
            config.attempt,
            claim_token=config.array_claim,
            batch_job_id=config.batch_job_id,
        )
        self.workspace = Workspace.plan(config)
        self.env: dict[str, str] = {}
        self.status: JobStatus | None = None
        self.payload_exit: int | None = None
        self.hints: list[str] = []
        self.measures = JobMeasures()
        self.started_ms = _epoch_ms()

    def _set_status(self, status: JobStatus) -> None:
        self.table.set_status(status)
        self.status = status

    def _usage(self) -> JobUsage | None:
        """Return what the job held and for how long (from the worker's start until now), for its row."""
        try:
            facts = instance_facts(self.config)
        except Exception:  # pricing facts never fail a job
            log.warning("could not learn the job's instance", exc_info=True)
            return None
        return JobUsage(
            instance_type=facts.instance_type,
            capacity_type=facts.capacity_type,
            availability_zone=facts.availability_zone,
            vcpus=self.config.job_vcpus,
            memory_mib=self.config.job_memory_mib,
            started_ms=self.started_ms,
            ended_ms=_epoch_ms(),
        )

    def run(self) -> JobResult:
        config = self.config
        log.info(
            "worker for job %s, attempt %d, runtime %s, host %s",
            config.job_uuid,
            config.attempt,
            self.runtime.name,
            config.hostname,
        )
        try:
            row = self.table.claim(self.table.read())
        except WorkerError as exc:
            log.error("%s", exc)  # noqa: TRY400 - a known refusal, not a crash
            return JobResult(exit_code=exc.exit_code, reason=str(exc))
        except Exception as exc:
            log.exception("could not claim job %s", config.job_uuid)
            return JobResult(exit_code=ExitCode.INTERNAL_ERROR, reason=f"could not claim the job: {exc}")
        self.status = JobStatus.IN_PROGRESS
        start_time = row.start_time or ""
        tag = special_value(row.inputs, TAG)
        with PayloadLog(self.echo) as payload_log:
            try:
                keys = self._run_claimed(row, payload_log)
            except LostOwnershipError as exc:
                log.error("%s; leaving the job to it", exc)  # noqa: TRY400 - expected, not a crash
                return JobResult(exit_code=exc.exit_code, status=self.status, reason=str(exc))
            except Exception as exc:  # noqa: BLE001 - every failure ends in the error zip and a final row
                exit_code, reason = self._failure(exc)
                return self._measured(self._fail(exit_code, reason, start_time, tag, payload_log))
        return self._measured(
            JobResult(
                exit_code=ExitCode.OK,
                status=self.status,
                payload_exit_code=self.payload_exit,
                output_keys=keys,
            )
        )

    def _measured(self, result: JobResult) -> JobResult:
        """Publish the job's metrics on stdout (unless a later attempt took the job over); return `result`."""
        if result.exit_code is ExitCode.LOST_OWNERSHIP:
            return result
        document = emf_document(
            self.measures,
            project=self.config.project_name,
            job_uuid=self.config.job_uuid,
            # As the row records it: the payload's code when it failed, else the worker's.
            exit_code=result.payload_exit_code or int(result.exit_code),
            succeeded=result.exit_code is ExitCode.OK,
            attempt=self.config.attempt,
            properties={
                "BatchJobId": self.config.batch_job_id,
                "JobStatus": result.status.value if result.status else None,
                "WorkerExitCode": int(result.exit_code),
            },
        )
        publish(document, self.metrics if self.metrics is not None else sys.stdout.buffer)
        return result

    def _run_claimed(self, row: JobRow, payload_log: PayloadLog) -> tuple[str, ...]:
        config = self.config
        workspace = self.workspace
        self.signals.check()
        has_zip = not row.is_invoked and bool(row.input_zip_name)
        zip_name = staged_zip_name(row.input_zip_name) if has_zip else row.input_zip_name
        self.env = payload_environment(config, row, workspace, zip_name, self.runtime.read_only_path)
        workspace.create()
        staging = self.measures.start()
        quick_deploy_dir: Path | None = None
        directory = special_value(row.inputs, QUICK_DEPLOY_DIRECTORY)
        with self.signals.interruptible():
            if has_zip:
                download_input_zip(
                    self.s3,
                    config.inputs_bucket,
                    row.input_zip_name,
                    workspace.preferred_input_dir,
                    self.signals.check,
                    version_id=row.input_zip_version,
                )
            if directory is not None:
                quick_deploy_dir = fetch_quick_deploy(
                    self.s3,
                    config.quick_deploy_bucket,
                    directory,
                    workspace.preferred_input_dir,
                    self.signals.check,
                )
            write_secrets(self.secretsmanager, config.secret_store, workspace.root.input_dir)
        if quick_deploy_dir is not None:
            self.hints = run_script_hints(quick_deploy_dir / RUN_SCRIPT)
            for hint in self.hints:
                log.warning("hint: %s", hint)
        self.signals.check()
        self.measures.staging_seconds = self.measures.since(staging)
        self._set_status(JobStatus.CALLING_PAYLOAD_CODE)
        spec = PayloadSpec(
            job_uuid=config.job_uuid,
            env=self.env,
            workspace=workspace,
            quick_deploy_dir=quick_deploy_dir,
            ulimit_fileno=config.ulimit_fileno,
            allow_docker_access=config.allow_docker_access,
            attempt=config.attempt,
            stop=self.signals.stop,
        )
        payload = self.measures.start()
        running = self.runtime.start(spec, payload_log)
        try:
            self.payload_exit, stopped = self._supervise(running)
            ending = running.ending()
        finally:
            running.close()
            self.measures.payload_seconds = self.measures.since(payload)
        log.info("payload exited with code %d%s", self.payload_exit, f" ({ending})" if ending else "")
        if stopped:
            raise TerminatedError(
                "the worker was asked to stop (SIGTERM); "
                f"the payload was stopped (exit code {self.payload_exit})"
            )
        if self.payload_exit != 0:
            hints = "".join(f"; hint: {hint}" for hint in self.hints)
            how = f": {ending}" if ending else ""
            raise _PayloadFailedError(f"the payload exited with code {self.payload_exit}{how}{hints}")
        self._set_status(JobStatus.JOB_COMPLETE_PUSHING_TO_S3)
        keys = self._upload_outputs(row)
        self.signals.check()  # the raise may be lost in a library's cleanup; the flag never is
        self._set_status(JobStatus.JOB_COMPLETE_CLEANING_UP_WORKSPACE)
        try:
            workspace.remove()
        except Exception as exc:  # noqa: BLE001 - whatever cleanup hits, the row must reach its final status
            # The outputs are uploaded: the job is complete; what is left on disk is only logged.
            log.error("could not remove the job's folders (%s); they are left on disk", exc)  # noqa: TRY400
        self.table.finish(JobStatus.JOB_COMPLETE, 0, usage=self._usage())
        self.status = JobStatus.JOB_COMPLETE
        return tuple(keys)

    def _upload_outputs(self, row: JobRow) -> list[str]:
        """Zip and upload the job's outputs, timing it and counting the bytes; return the keys written."""
        config = self.config
        upload = self.measures.start()
        sizes: list[int] = []
        with self.signals.interruptible():
            keys = upload_outputs(
                self.s3,
                config.outputs_bucket,
                self.workspace,
                job_uuid=config.job_uuid,
                start_time=row.start_time or "",
                tag=special_value(row.inputs, TAG),
                part_size=config.part_size,
                compress_level=config.compress_level,
                sizes=sizes,
            )
        self.measures.upload_seconds = self.measures.since(upload)
        self.measures.upload_bytes = sum(sizes)
        return keys

    def _failure(self, exc: Exception) -> tuple[ExitCode, str]:
        """Log why the job failed; return the exit code (TERMINATED once SIGTERM came) and the reason."""
        if isinstance(exc, WorkerError):
            log.error("job failed: %s", exc)
            return (ExitCode.TERMINATED if self.signals.stop.is_set() else exc.exit_code), str(exc)
        if self.signals.stop.is_set():  # a phase cut short by SIGTERM: no crash to show
            log.error("job failed after SIGTERM: %s", exc)
            return ExitCode.TERMINATED, f"the worker was asked to stop (SIGTERM): {exc}"
        log.error("job failed: unexpected error", exc_info=exc)
        return ExitCode.INTERNAL_ERROR, f"internal error: {exc!r}"

    def _supervise(self, running: RunningPayload) -> tuple[int, bool]:
        stopped = False
        while True:
            code = running.wait(POLL_SECONDS)
            if code is not None:
                return code, stopped
            if self.signals.stop.is_set() and not stopped:
                running.stop(self.config.stop_grace_seconds)
                stopped = True

    def _fail(
        self, exit_code: ExitCode, reason: str, start_time: str, tag: str | None, payload_log: PayloadLog
    ) -> JobResult:
        config = self.config
        error_key: str | None = None
        # The payload's code when it failed or was stopped; the worker's when the job failed around it.
        recorded_exit = self.payload_exit or int(exit_code)
        try:
            self._set_status(JobStatus.JOB_FAILED_PUSHING_LOGS)
            try:
                error_key = upload_error_zip(
                    self.s3,
                    config.errors_bucket,
                    job_uuid=config.job_uuid,
                    start_time=start_time,
                    tag=tag,
                    payload_log=payload_log,
                    worker_log=self.worker_log.text(),
                    environment=redact(self.env),
                    exit_code=self.payload_exit,
                    reason=reason,
                    part_size=config.part_size,
                )
            except Exception:
                log.exception("could not upload the error zip")
            self._set_status(JobStatus.JOB_FAILED_CLEANING_UP_WORKSPACE)
            try:
                self.workspace.remove()
            except Exception as exc:  # noqa: BLE001 - whatever cleanup hits, the row must reach its final status
                log.error("could not remove the job's folders (%s); they are left on disk", exc)  # noqa: TRY400
            self.table.finish(JobStatus.JOB_FAILED, recorded_exit, reason=reason, usage=self._usage())
            self.status = JobStatus.JOB_FAILED
        except LostOwnershipError as exc:
            log.error("%s; leaving the job to it", exc)  # noqa: TRY400 - expected, not a crash
            return JobResult(exit_code=exc.exit_code, status=self.status, reason=str(exc))
        except Exception:
            log.exception("could not record the failure in the job's row")
        return JobResult(
            exit_code=exit_code,
            status=self.status,
            payload_exit_code=self.payload_exit,
            error_key=error_key,
            reason=reason,
        )


def _epoch_ms() -> int:
    """Return the time now in epoch milliseconds (what a row's run start and end hold)."""
    return time.time_ns() // 1_000_000


class _PayloadFailedError(WorkerError):
    exit_code = ExitCode.PAYLOAD_FAILED
