"""The demo: a local flock, many example jobs through both entry points and a bad one, then a summary."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Attr, parse_output_object_name

from shepard_local._control import LOCAL_CREDENTIALS, http_json, local_session
from shepard_local._demo_summary import DemoJob, DemoResult
from shepard_local._state import LOCAL_DIR_VAR, FlockState

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

SETTLED: Final = frozenset({"job_complete", "job_failed", "rejected"})
WORKER_IMAGE: Final = "shepard-worker:latest"
CARRIER_IMAGES: Final = ("local/busybox:1",)
PAYLOAD_REPOSITORY: Final = "shepard-payload"
"""Where `shepard deploy` tags the payload image it builds (`shepard-payload/<repository>:<tag>`)."""
BASE_IMAGE: Final = "local/bookworm-py:1"
BAD_INPUTS: Final = {"UUID": "my-own-id", "NAME": "a job that sets a reserved keyword"}
SETTLE_TIMEOUT_SECONDS: Final = 240
MANY_JOBS: Final = 20
"""How many jobs the demo batches at once with `shepard batch --many`: enough to fill a Batch array."""
_DEPLOYED: Final = re.compile(r"^Deployed (?P<reference>\S+)$", re.MULTILINE)
_SUBMITTED: Final = re.compile(r"^Job (?P<uuid>[0-9a-f-]{36}) submitted", re.MULTILINE)


class DemoError(Exception):
    """A step of the demo failed."""


def worker_image() -> str | None:
    """Return the engine's image to deploy the container example in, or None when the engine lacks one.

    The example's payload needs the base image scripts/docker-engine.sh imports. The local flock runs the
    worker from the installed package, so the deployed image only has to carry the nested payload tar:
    the worker image when it was built, else any small image stands in for it.
    """
    import docker

    client = docker.from_env(timeout=10)
    try:
        present = {tag for image in client.images.list() for tag in image.tags}
    finally:
        client.close()
    if BASE_IMAGE not in present:
        return None
    return next((image for image in (WORKER_IMAGE, *CARRIER_IMAGES) if image in present), None)


class Demo:
    """Drive the CLI against a fresh local flock the way a user would, printing each command."""

    def __init__(  # noqa: PLR0913 - the demo's knobs, all keyword-only
        self,
        examples: Path,
        work: Path,
        *,
        s3_jobs: int = MANY_JOBS,
        api_jobs: int = 2,
        docker: bool | None = None,
        keep_images: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        """Use the example folders under `examples`; keep the flock, profiles and results under `work`.

        The images the demo builds are removed from the engine at its end unless `keep_images`.
        """
        self.keep_images = keep_images
        self.built_images: list[str] = []
        self.examples = examples.absolute()
        self.work = work.absolute()
        self.s3_jobs = s3_jobs
        self.api_jobs = api_jobs
        self.docker = docker
        self.echo = echo
        self.flock_dir = self.work / "flock"
        self.results = self.work / "results"
        self.env = {
            **os.environ,
            **LOCAL_CREDENTIALS,
            "SHEPARD_CLI_HOME": str(self.work / "cli"),
            LOCAL_DIR_VAR: str(self.flock_dir),
            "COLUMNS": "120",
            # The CLI's stdout and stderr share one pipe: unbuffered, its lines keep their order.
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            self.env.pop(name, None)
        beside = Path(sys.executable).parent / "shepard"
        self.shepard = [str(beside)] if beside.is_file() else [sys.executable, "-m", "shepard_cli"]

    # -- steps ---------------------------------------------------------------------------------------

    def shepard_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `shepard ARGS`; show the command (quoted so it pastes back) and its output in written order.

        stderr goes to the same pipe as stdout, so `done.stdout` holds both, as a terminal shows them.
        """
        self.echo(f"\n$ {shlex.join(['shepard', *args])}")
        done = subprocess.run(  # noqa: S603 - a fixed argument list
            [*self.shepard, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        for line in done.stdout.splitlines():
            if line.strip() and "━" not in line:
                self.echo(f"  {line}")
        if check and done.returncode != 0:
            raise DemoError(f"`shepard {' '.join(args)}` failed with exit code {done.returncode}")
        return done

    def run(self) -> DemoResult:
        """Run the whole demo and return its result; the flock is always stopped at the end."""
        began = time.monotonic()
        shutil.rmtree(self.flock_dir, ignore_errors=True)
        shutil.rmtree(self.work / "cli", ignore_errors=True)
        shutil.rmtree(self.results, ignore_errors=True)
        runtime = {None: "auto", True: "docker", False: "process"}[self.docker]
        self.shepard_cli("local", "up", "--runtime", runtime, "--concurrency", "4")
        try:
            state = FlockState.load(self.flock_dir)
            if state is None:
                raise DemoError("the flock recorded no state")
            mode, job_folder, extra = self._deploy(state)
            jobs: list[DemoJob] = []
            stop = threading.Event()
            # Watch from the first upload on, so the times measured are not the demo's own delays.
            watcher = threading.Thread(target=self._watch, args=(jobs, state, stop), daemon=True)
            watcher.start()
            try:
                self._batch(jobs, job_folder, extra, state)
                self._settle(jobs)
                submit_job_calls = self._submit_job_calls(state)
            finally:
                stop.set()
                watcher.join()
            self.shepard_cli("--profile", "local", "query")
            self._show_watch()
            retrieved = self._retrieve()
        finally:
            self.shepard_cli("local", "down", check=False)
            removed = self._remove_built_images()
        return DemoResult(
            mode=mode,
            jobs=jobs,
            retrieved=retrieved,
            retrieve_dir=self.results,
            seconds=time.monotonic() - began,
            submit_job_calls=submit_job_calls,
            removed_images=removed,
        )

    def _remove_built_images(self) -> list[str]:
        """Remove the images the demo's deploy built (and the flock pulled) from the engine; return them."""
        if not self.built_images:
            return []
        if self.keep_images:
            self.echo(f"\nKeeping the demo's images: {', '.join(self.built_images)}")
            return []
        removed = remove_images(self.built_images, on_problem=self.echo)
        if removed:
            self.echo(f"\nRemoved the demo's images: {', '.join(removed)} (--keep-images keeps them)")
        return removed

    def _deploy(self, state: FlockState) -> tuple[str, Path, dict[str, str]]:
        carrier = worker_image() if state.runtime == "docker" and state.registry else None
        if carrier is not None:
            deployed = self.shepard_cli(
                "--profile",
                "local",
                "deploy",
                "--path-to-docker-folder",
                str(self.examples / "hello-container" / "payload"),
                "--worker-image",
                carrier,
            )
            found = _DEPLOYED.search(deployed.stdout)
            self.built_images = [f"{PAYLOAD_REPOSITORY}/{state.names.ecr_repo}:latest"]
            if found:
                self.built_images.append(found["reference"])
            return (
                f"Docker: the container example, deployed nested in {carrier}",
                self.examples / "hello-container" / "job",
                {},
            )
        if self.docker is False:
            why = "--runtime process"
        elif state.runtime != "docker" or not state.registry:
            why = "no Docker engine or registry reachable"
        else:
            why = f"the base image {BASE_IMAGE} is not in the Docker engine"
        self.echo(f"\n({why}: running the quick-deploy example with the process runtime instead)")
        self.shepard_cli("local", "quick-deploy", str(self.examples / "hello-quick-deploy" / "hello"))
        return (
            f"process runtime: the quick-deploy example ({why})",
            self.examples / "hello-quick-deploy" / "job",
            {"QUICK_DEPLOY_DIRECTORY": "hello"},
        )

    def _batch(self, jobs: list[DemoJob], job_folder: Path, extra: dict[str, str], state: FlockState) -> None:
        table = self.work / "names.tsv"
        table.write_text("NAME\n" + "".join(f"S3 job {n}\n" for n in range(1, self.s3_jobs + 1)))
        record = self.work / "batched.tsv"
        # A job's clock starts when its command is issued: its first jobs may start before it returns.
        uploaded = time.time()
        self.shepard_cli(
            "--profile",
            "local",
            "batch",
            "--path-to-local-folder-to-batch",
            str(job_folder),
            "--many",
            str(table),
            "--record",
            str(record),
        )
        jobs += [
            DemoJob(
                label=f"{table.name} line {row['line']}",
                path="S3",
                uploaded_at=uploaded,
                zip_key=row["key"],
                uuid=row["job_uuid"] or None,
            )
            for row in read_batch_record(record)
        ]
        for n in range(1, self.api_jobs + 1):
            payload = json.dumps({"GREETING": "Hi", "NAME": f"API job {n}", **extra})
            requested = time.time()
            done = self.shepard_cli("--profile", "local", "batch-via-api", "--json-payload", payload)
            found = _SUBMITTED.search(done.stdout)
            jobs.append(
                DemoJob(
                    label=f"API job {n}",
                    path="API",
                    uploaded_at=requested,
                    uuid=found["uuid"] if found else None,
                )
            )

        bad = self.work / "bad-job"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / "inputs.txt").write_text(json.dumps(BAD_INPUTS, indent=2) + "\n")
        self.echo("\nA bad job: the CLI refuses to upload it...")
        self.shepard_cli(
            "--profile", "local", "batch", "--path-to-local-folder-to-batch", str(bad), check=False
        )
        self.echo("...so it is dropped into the inputs bucket directly, as a console upload would.")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.write(bad / "inputs.txt", "inputs.txt")
        s3 = local_session().client("s3", endpoint_url=state.aws_endpoint)
        uploaded = time.time()
        s3.put_object(Bucket=state.names.inputs_bucket, Key="bad-job.zip", Body=buffer.getvalue())
        jobs.append(DemoJob(label="bad job", path="S3", uploaded_at=uploaded, zip_key="bad-job.zip"))

    def _watch(self, jobs: list[DemoJob], state: FlockState, stop: threading.Event) -> None:
        session = local_session()
        dynamodb = session.client("dynamodb", endpoint_url=state.aws_endpoint)
        s3 = session.client("s3", endpoint_url=state.aws_endpoint)
        while not stop.wait(0.2):
            with contextlib.suppress(Exception):
                self._observe(list(jobs), state, dynamodb, s3)

    def _settle(self, jobs: list[DemoJob]) -> None:
        self.echo("\nWaiting for every job to settle:")
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        last = ""
        while True:
            counts: dict[str, int] = {}
            for job in jobs:
                counts[job.status] = counts.get(job.status, 0) + 1
            line = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
            if line != last:
                self.echo(f"  [{time.strftime('%H:%M:%S')}] {line}")
                last = line
            if all(job.status in SETTLED for job in jobs) and all(
                job.output_key or job.status != "job_complete" for job in jobs
            ):
                return
            if time.monotonic() > deadline:
                raise DemoError(f"jobs had not settled after {SETTLE_TIMEOUT_SECONDS} s: {line}")
            time.sleep(0.25)

    def _submit_job_calls(self, state: FlockState) -> int | None:
        """Return how many SubmitJob calls the flock's Batch has received, from the runner's counters."""
        try:
            stats = http_json(f"{state.api_endpoint}/local/stats")
        except (OSError, ValueError):
            return None
        calls = stats.get("submit_job_calls")
        return calls if isinstance(calls, int) else None

    def _observe(
        self, jobs: list[DemoJob], state: FlockState, dynamodb: DynamoDBClient, s3: S3Client
    ) -> None:
        now = time.time()
        items = []
        scan: dict[str, Any] = {"TableName": state.names.table}
        while True:
            page = dynamodb.scan(**scan)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        rows = {item["UUID"]["S"]: {k: next(iter(v.values())) for k, v in item.items()} for item in items}
        by_zip = {str(row.get("INPUT_ZIP_NAME", "")): uuid for uuid, row in rows.items()}
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=state.names.outputs_bucket).get("Contents", [])]
        executor = {job["jobId"]: job for job in http_json(f"{state.api_endpoint}/local/jobs")["jobs"]}
        for job in jobs:
            if job.uuid is None and job.zip_key in by_zip:
                job.uuid = by_zip[job.zip_key]
            row = rows.get(job.uuid or "")
            if row is None:
                continue
            job.status = str(row.get("JOB_STATUS", job.status))
            job.reason = str(row[Attr.REJECTION_REASON]) if Attr.REJECTION_REASON in row else None
            job.batch_job_id = str(row[Attr.BATCH_JOB_ID]) if Attr.BATCH_JOB_ID in row else None
            # An array child's attempts are its own: the executor lists each child by its job id.
            attempts = executor.get(job.batch_job_id or "", {}).get("attempts", [])
            job.attempts = len(attempts)
            if attempts and job.started_at is None:
                job.started_at = float(attempts[0]["started_at"])
            output = next((key for key in keys if _output_job(key) == job.uuid), None)
            if output and job.output_key is None:
                job.output_key, job.outputs_at = output, now

    def _show_watch(self) -> None:
        """Show one `shepard watch` snapshot of the settled flock: counts, rate, ETA, the rejected job."""
        self.shepard_cli("--profile", "local", "watch", "--once")

    def _retrieve(self) -> list[str]:
        done = self.shepard_cli(
            "--profile", "local", "retrieve", "--directory-to-sync-s3-bucket-to", str(self.results)
        )
        return re.findall(r"^Fetched (\S+)$", done.stdout, flags=re.MULTILINE)


def run_demo(
    examples: Path,
    work: Path,
    *,
    docker: bool | None = None,
    keep_images: bool = False,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo against the examples under `examples`, keeping its files under `work`."""
    return Demo(examples, work, docker=docker, keep_images=keep_images, echo=echo).run()


def read_batch_record(path: Path) -> list[dict[str, str]]:
    """Return the rows of the record `shepard batch --record` wrote, as dicts keyed by its header."""
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    names = header.split("\t")
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines if line]


def remove_images(references: list[str], on_problem: Callable[[str], None] = print) -> list[str]:
    """Remove each image reference from the Docker engine (missing ones skipped); return those removed."""
    import docker
    from docker.errors import APIError, DockerException, ImageNotFound

    removed = []
    try:
        client = docker.from_env(timeout=60)
    except DockerException:
        return []
    try:
        for reference in references:
            try:
                client.images.remove(reference)
            except ImageNotFound:
                continue
            except APIError as exc:  # an image still used by a container stays; the demo says so
                on_problem(f"Could not remove the image {reference}: {exc.explanation or exc}")
                continue
            removed.append(reference)
    finally:
        client.close()
    return removed


def _output_job(key: str) -> str | None:
    """Return the job UUID an output zip key names, or None for keys that are not output zips."""
    name = parse_output_object_name(key.rsplit("/", 1)[-1])
    return None if name is None else name.job_uuid
