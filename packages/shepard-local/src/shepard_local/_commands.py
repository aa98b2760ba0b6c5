"""`shepard local up|down|status|reclaim`: run a whole flock on this machine."""
# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import click

from shepard_local._state import DEFAULT_PREFIX, FLOCK_NICENESS, FlockNames, FlockState, default_local_dir

PROFILE_NAME: Final = "local"
ARRAYS_SHOWN: Final = 10
"""How many of the latest array jobs `shepard local status` lists with their children's states."""


MEMORY_NOTE: Final = (
    "The flock's state (buckets, queue, table, jobs) lives in the emulator's memory and is gone after "
    "`shepard local down`; outputs you retrieve stay on disk."
)

_DIR_OPTION: Final = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the flock keeps its state and logs (default: $SHEPARD_LOCAL_DIR, else ~/.shepard/local).",
)


def _docker_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
    except Exception:  # noqa: BLE001 - any failure means no engine
        return False
    return True


def _registry_reachable(address: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2):
            return True
    except OSError:
        return False


@click.group(name="local")
def local() -> None:
    """Run a whole flock on this machine: an AWS emulator, the scheduler code and the worker.

    `shepard local up` writes a profile named `local` and makes it current (unless another profile
    is current: then it says how); every command then works against it. No AWS account or
    credentials are needed. `eval "$(shepard local env)"` points the aws CLI and boto3 at it.

    \b
    Example:
      shepard local up
      shepard batch examples/hello-quick-deploy/job
      shepard query
      shepard local down
    """
    from shepard_cli.engine import adopt_local_engine

    adopt_local_engine()


def _parameters(pairs: tuple[str, ...]) -> dict[str, str]:
    """Return the KEY=VALUE pairs as a mapping, refusing a pair without a key or an `=`."""
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--parameter")
        parameters[key.strip()] = value
    return parameters


@local.command()
@_DIR_OPTION
@click.option(
    "--template",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Generated shepard.yml to build the flock from and whose inline scheduler code to run "
    "(default: $SHEPARD_TEMPLATE, else the nearest cloudformation/shepard.yml, else the copy shipped "
    "with shepard-local).",
)
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True, help="Prefix of every resource name.")
@click.option(
    "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64), help="Jobs run at once."
)
@click.option(
    "--runtime",
    type=click.Choice(["auto", "docker", "process"]),
    default="auto",
    show_default=True,
    help="How payloads run: docker runs deployed payload images; process runs quick-deploy run.sh only.",
)
@click.option(
    "--registry",
    default="127.0.0.1:5000",
    show_default=True,
    help="Image registry `shepard deploy` pushes to for this flock (used when it answers).",
)
@click.option(
    "--parameter",
    "parameters",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the flock's stack (repeatable), e.g. SchedulerBatchingWindowSeconds=5.",
)
@click.option(
    "--niceness",
    default=FLOCK_NICENESS,
    show_default=True,
    type=click.IntRange(0, 19),
    help="How far below your shell's CPU priority the flock runs, so commands such as watch and status "
    "keep their speed while it is busy (0: the same priority).",
)
def up(  # noqa: PLR0913, PLR0917 - one parameter per option
    directory: Path | None,
    template: Path | None,
    prefix: str,
    concurrency: int,
    runtime: str,
    registry: str,
    parameters: tuple[str, ...],
    niceness: int,
) -> None:
    """Start a local flock, write the `local` profile and make it current (or say how).

    \b
    Example:
      shepard local up --concurrency 4
    """
    from shepard_cli.profiles import ProfileStore
    from shepard_flock import find_template

    from shepard_local._control import FlockError, running_state, start_flock, stop_flock

    directory = (directory or default_local_dir()).absolute()
    existing = running_state(directory)
    if existing is not None:
        click.echo(f"A local flock already runs from {directory} (AWS endpoint {existing.api_endpoint}).")
        from shepard_cli.profiles import ProfileStore

        from shepard_local._local_profile import adopt_profile

        click.echo(adopt_profile(ProfileStore(), PROFILE_NAME))
        return
    stale = FlockState.load(directory)
    if stale is not None:
        stop_flock(stale)
    docker = _docker_reachable()
    if runtime == "docker" and not docker:
        raise click.ClickException("--runtime docker needs a reachable Docker engine (set DOCKER_HOST)")
    chosen = runtime if runtime != "auto" else ("docker" if docker else "process")
    registry = registry if docker and registry and _registry_reachable(registry) else ""
    template = template or find_template()
    try:
        state = start_flock(
            directory,
            names=FlockNames(prefix=prefix),
            template=template,
            registry=registry,
            concurrency=concurrency,
            runtime=chosen,
            parameters=_parameters(parameters),
            niceness=niceness,
        )
    except FlockError as exc:
        raise click.ClickException(str(exc)) from None
    from shepard_local._control import profile_attributes
    from shepard_local._local_profile import adopt_profile

    store = ProfileStore()
    store.save(PROFILE_NAME, profile_attributes(state))
    click.echo(f"Local flock up in {directory}")
    click.echo(
        f"  AWS endpoint     {state.api_endpoint}  (use this one: every AWS API and the batching endpoint)"
    )
    click.echo(
        f"  emulator         {state.aws_endpoint}  (internal: the moto server behind the AWS endpoint)"
    )
    click.echo(f"  provisioned by   {state.provisioned_from}")
    click.echo(f"  scheduler code   {template}")
    click.echo(f"  payload runtime  {chosen}" + ("" if docker else " (no Docker engine reachable)"))
    click.echo(f"  registry         {registry or 'none (deploy needs a Docker engine and a registry)'}")
    click.echo(f"  image repository {state.names.ecr_repo}  (this flock's own: `shepard deploy` pushes here)")
    click.echo(f"  profile          {PROFILE_NAME} in {store.home}")
    click.echo(adopt_profile(store, PROFILE_NAME))
    click.echo('The aws CLI and boto3 reach the flock after: eval "$(shepard local env)"')
    click.echo(MEMORY_NOTE)
    click.echo("Next: shepard batch <job folder>   (see docs/local-flock.md)")
    click.echo(
        f"In a browser: shepard --profile {PROFILE_NAME} ui --open   (needs shepard-ui; see docs/ui.md)"
    )


@local.command()
@_DIR_OPTION
@click.option("--unset", is_flag=True, help="Print the line that undoes the exports instead.")
def env(directory: Path | None, unset: bool) -> None:  # noqa: FBT001 - a flag
    """Print `export` lines pointing the aws CLI and boto3 at the local flock, for `eval`.

    They set AWS_ENDPOINT_URL to the flock's AWS endpoint and the stand-in credentials the flock
    accepts (no AWS account is needed or used), and unset AWS_PROFILE and any session token.

    \b
    Example:
      shepard local env
      eval "$(shepard local env)"
      aws s3 ls
      eval "$(shepard local env --unset)"
    """
    from shepard_local._control import EMULATOR_MODULE, LOCAL_CREDENTIALS, RUNNER_MODULE, process_alive
    from shepard_local._local_profile import env_exports, env_unsets

    if unset:
        click.echo("\n".join(env_unsets(LOCAL_CREDENTIALS)))
        return
    directory = (directory or default_local_dir()).absolute()
    state = FlockState.load(directory)
    if state is None:
        raise click.ClickException(f"no local flock in {directory}: start one with `shepard local up`")
    if not (
        process_alive(state.moto_pid, EMULATOR_MODULE) and process_alive(state.runner_pid, RUNNER_MODULE)
    ):
        click.echo(
            f"Warning: the flock recorded in {directory} is not running; `shepard local up` starts it",
            err=True,
        )
    click.echo("\n".join(env_exports(state, LOCAL_CREDENTIALS)))


@local.command()
@_DIR_OPTION
def down(directory: Path | None) -> None:
    """Stop the local flock; running jobs are terminated.

    \b
    Example:
      shepard local down
    """
    from shepard_local._control import stop_flock

    directory = (directory or default_local_dir()).absolute()
    state = FlockState.load(directory)
    if state is None:
        click.echo(f"No local flock recorded in {directory}.")
        return
    stopped = stop_flock(state)
    click.echo(f"Stopped {', '.join(stopped) if stopped else 'nothing (it had already stopped)'}.")
    click.echo("The flock's state is gone; its logs stay in " + str(state.log_dir) + ".")


def scheduler_line(stats: dict[str, Any]) -> str:
    """Return `local status`'s line on the scheduler: invocations, upload messages done and failed.

    S3's `s3:TestEvent` (sent when the inputs bucket's notification is set up) is named on its own,
    so a fresh flock shows no upload handled.
    """
    tests = int(stats.get("s3_test_events", 0))
    test_note = (
        f"; {tests} s3:TestEvent (S3 sends one when the bucket's notification is set up)" if tests else ""
    )
    return (
        f"  scheduler     {stats['scheduler_invocations']} invocation(s), "
        f"{stats['messages_deleted']} upload message(s) done, "
        f"{stats['messages_failed']} failed (retried by SQS){test_note}"
    )


@local.command()
@_DIR_OPTION
def status(directory: Path | None) -> None:
    """Show whether the local flock runs, where, and what it is doing.

    \b
    Example:
      shepard local status
    """
    from shepard_local._control import (
        EMULATOR_MODULE,
        RUNNER_MODULE,
        flock_stats,
        process_alive,
        queue_depths,
    )

    directory = (directory or default_local_dir()).absolute()
    state = FlockState.load(directory)
    if state is None:
        click.echo(f"No local flock in {directory}: start one with `shepard local up`.")
        raise SystemExit(1)
    moto_up = process_alive(state.moto_pid, EMULATOR_MODULE)
    runner_up = process_alive(state.runner_pid, RUNNER_MODULE)
    click.echo(f"Local flock in {directory}, started {state.started_at}")
    for label, alive, pid, url in (
        ("AWS emulator", moto_up, state.moto_pid, state.aws_endpoint),
        ("runner      ", runner_up, state.runner_pid, state.api_endpoint),
    ):
        click.echo(f"  {label}  {'running' if alive else 'STOPPED'} (pid {pid}, {url})")
    click.echo(f"  provisioned by {state.provisioned_from}")
    stats = flock_stats(state) if runner_up else None
    if stats:
        click.echo(f"  scheduler     {stats['scheduler_code']}")
        click.echo(f"  runtime       {stats['runtime']}")
        click.echo(scheduler_line(stats))
        jobs = ", ".join(f"{count} {name.lower()}" for name, count in sorted(stats["batch_jobs"].items()))
        click.echo(f"  Batch jobs    {jobs or 'none yet'} (array children and plain jobs)")
        arrays = stats.get("arrays", [])
        click.echo(
            f"  SubmitJob     {stats.get('submit_job_calls', 0)} calls: {len(arrays)} array job(s), "
            f"{stats.get('submit_job_calls', 0) - len(arrays)} plain job(s)"
        )
        for array in arrays[-ARRAYS_SHOWN:]:
            children = ", ".join(
                f"{count} {name.lower()}" for name, count in sorted(array["statusSummary"].items())
            )
            size, state_now = array["arraySize"], array["status"].lower()
            click.echo(f"    array {array['jobId']}  {state_now}, {size} children: {children}")
    if moto_up:
        depths = queue_depths(state)
        click.echo(
            f"  SQS           {depths['queue']} in the queue, {depths['dead-letter queue']} in the DLQ"
        )
    click.echo(MEMORY_NOTE)
    if not (moto_up and runner_up):
        raise SystemExit(1)


@local.command()
@_DIR_OPTION
@click.argument("job")
def reclaim(directory: Path | None, job: str) -> None:
    """Terminate a running job's host as a Spot reclaim would; Batch's retry strategy then retries it.

    JOB is a job's UUID (its row names its Batch job: an array child or a plain job) or a Batch job id.

    \b
    Example:
      shepard local reclaim 0b6c1c1e-6f0e-5d7b-9a57-2c1f0e4d1a2b
    """
    import urllib.parse

    from shepard_local._control import http_json

    directory = (directory or default_local_dir()).absolute()
    state = FlockState.load(directory)
    if state is None:
        raise click.ClickException(f"no local flock in {directory}")
    from shepard_local._control import batch_job_of

    batch_job = batch_job_of(state, job)
    try:
        http_json(
            f"{state.api_endpoint}/local/jobs/{urllib.parse.quote(batch_job, safe='')}/reclaim", data={}
        )
    except OSError as exc:
        raise click.ClickException(f"job {job} is not running on the local flock ({exc})") from None
    click.echo(f"Reclaimed the host of job {job}; its retry strategy decides what follows.")


@local.command("quick-deploy")
@_DIR_OPTION
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--name", default=None, help="Folder name in the bucket, the jobs' QUICK_DEPLOY_DIRECTORY.")
def quick_deploy(directory: Path | None, folder: Path, name: str | None) -> None:
    """Upload a quick-deploy folder (holding run.sh) to the local flock's quick deploy bucket.

    \b
    Example:
      shepard local quick-deploy examples/hello-quick-deploy/hello
    """
    from shepard_local._control import local_session
    from shepard_local._quick_deploy import QuickDeployFolderError, upload_folder

    directory = (directory or default_local_dir()).absolute()
    state = FlockState.load(directory)
    if state is None:
        raise click.ClickException(f"no local flock in {directory}: start one with `shepard local up`")
    s3 = local_session().client("s3", endpoint_url=state.aws_endpoint)
    try:
        prefix, count = upload_folder(s3, state.names.quick_deploy_bucket, folder, name)
    except QuickDeployFolderError as exc:
        raise click.ClickException(str(exc)) from None
    files = "1 file" if count == 1 else f"{count} files"
    click.echo(
        f"Uploaded {files} to s3://{state.names.quick_deploy_bucket}/{prefix}/; "
        f'run them with {{"QUICK_DEPLOY_DIRECTORY": "{prefix}"}} in a job\'s inputs.'
    )


@local.command()
@click.option(
    "--examples",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("examples"),
    show_default=True,
    help="The repository's examples folder.",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".local-flock") / "demo",
    show_default=True,
    help="Where the demo keeps its flock, profiles and retrieved outputs.",
)
@click.option(
    "--runtime", type=click.Choice(["auto", "docker", "process"]), default="auto", show_default=True
)
@click.option("--keep-images", is_flag=True, help="Keep the images the demo builds (removed at its end).")
def demo(examples: Path, work: Path, runtime: str, keep_images: bool) -> None:  # noqa: FBT001 - a flag
    """Start a flock, run the examples through S3 and the API plus a bad job, summarise, stop.

    The images the demo builds for the container example are removed from the Docker engine at
    its end, unless --keep-images.

    \b
    Example:
      shepard local demo
    """
    from shepard_local._demo import DemoError, run_demo
    from shepard_local._demo_summary import demo_problems, summary_lines

    docker = {"auto": None, "docker": True, "process": False}[runtime]
    try:
        result = run_demo(examples, work, docker=docker, keep_images=keep_images, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary_lines(result):
        click.echo(line)
    problems = demo_problems(result)
    if problems:
        raise click.ClickException("; ".join(problems))
