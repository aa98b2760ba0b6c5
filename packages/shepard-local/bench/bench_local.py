"""Run thousands of trivial quick-deploy jobs through a default `shepard local up` and print where time goes.

One `shepard batch --many` of a TSV with --jobs lines (2,000; 10,000 with `--jobs 10000`) goes to a fresh
flock. Printed: jobs/min from the batch's start to the last job ended, the time until the scheduler had
taken every upload, the arrays made, the emulator's and the runner's resident memory over time, the
response times of `watch --once`, `status`, `logs` and `cancel` during the run, and the top costs of a
py-spy sampling profile of the emulator and of the runner (skipped, with a note, without py-spy).

    nox -s "bench(part='local')" -- [--jobs N] [--probe-seconds S] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "hello-quick-deploy"
MIB = 1024 * 1024
SAMPLE_SECONDS = 5
TOP = 12
ENDED = ("SUCCEEDED", "FAILED")


def _bin(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        sys.exit(f"bench_local: `{name}` is not installed beside {sys.executable}")
    return found


def _rss_mib(pid: int) -> float:
    """Return a process's resident memory in MiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int, *, children: bool = False) -> float:
    """Return the CPU seconds a process has used (with `children`, those of its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if children else 11  # utime, stime (or cutime, cstime), counted from the state field
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def _launcher_of(runner: int) -> int | None:
    """Return the pid of the runner's worker launcher (its workers' CPU is counted there)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == runner and b"_worker_forks" in (stat.parent / "cmdline").read_bytes():
                return int(stat.parent.name)
    return None


def cpu_per_job(flock: Flock) -> dict[str, float]:
    """Return the CPU seconds used so far by the emulator, the runner and the workers."""
    runner = flock.state.runner_pid
    launcher = _launcher_of(runner)
    workers = _cpu_seconds(runner, children=True)
    if launcher is not None:
        workers += _cpu_seconds(launcher, children=True) + _cpu_seconds(launcher)
    return {
        "emulator": _cpu_seconds(flock.state.moto_pid),
        "runner": _cpu_seconds(runner),
        "workers": workers,
    }


def _get_json(url: str, timeout: float = 30) -> Any:  # noqa: ANN401 - JSON
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the flock's own URL
        return json.load(response)


@dataclass
class Flock:
    """A flock started by this bench: its directory, environment and recorded state."""

    work: Path
    env: dict[str, str]
    state: Any = None

    def cli(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `shepard ARGS` with the flock's profile and return the finished process."""
        done = subprocess.run(  # noqa: S603 - a fixed argument list
            [_bin("shepard"), *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            sys.exit(f"shepard {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def stats(self) -> dict[str, Any]:
        """Return the runner's counters (`shepard local status`'s source)."""
        return dict(_get_json(f"{self.state.api_endpoint}/local/stats"))


def start_flock(work: Path) -> Flock:
    """Start a flock with a plain `shepard local up` and quick-deploy the hello example to it."""
    from shepard_local import LOCAL_CREDENTIALS, FlockState

    env = {
        **os.environ,
        **LOCAL_CREDENTIALS,
        "SHEPARD_CLI_HOME": str(work / "cli"),
        "SHEPARD_LOCAL_DIR": str(work / "local"),
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    flock = Flock(work=work, env=env)
    up = subprocess.run(  # noqa: S603 - a fixed argument list
        [_bin("shepard"), "local", "up"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if up.returncode != 0:
        sys.exit(f"shepard local up failed:\n{up.stdout}\n{up.stderr}")
    flock.state = FlockState.load(work / "local")
    deployed = flock.cli("--profile", "local", "local", "quick-deploy", str(EXAMPLES / "hello"), check=False)
    if deployed.returncode != 0:
        flock.cli("local", "down", check=False)
        sys.exit(f"quick-deploy failed:\n{deployed.stdout}\n{deployed.stderr}")
    return flock


def write_jobs(work: Path, count: int) -> tuple[Path, Path]:
    """Write the job folder and a TSV of `count` parameter sets (one trivial job each)."""
    folder = work / "job"
    shutil.copytree(EXAMPLES / "job", folder)
    tsv = work / "jobs.tsv"
    tsv.write_text("NAME\n" + "".join(f"bench-{n:05d}\n" for n in range(count)))
    return folder, tsv


@dataclass
class Samples:
    """What the sampler saw over the run: memory, scheduling and ending, by seconds since the start."""

    rss: list[tuple[float, float, float, int, int]] = field(default_factory=list)
    scheduled_at: float | None = None
    ended_at: float | None = None
    arrays: int = 0
    ended: int = 0
    peak_emulator: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


def sample(flock: Flock, jobs: int, started: float, done: threading.Event, samples: Samples) -> None:
    """Every few seconds record both processes' RSS, the uploads scheduled and the jobs ended."""
    while not done.is_set():
        elapsed = time.monotonic() - started
        emulator, runner = _rss_mib(flock.state.moto_pid), _rss_mib(flock.state.runner_pid)
        samples.peak_emulator = max(samples.peak_emulator, emulator)
        try:
            stats = flock.stats()
        except OSError:
            done.wait(SAMPLE_SECONDS)
            continue
        scheduled = int(stats["messages_deleted"])
        ended = sum(stats["batch_jobs"].get(status, 0) for status in ENDED)
        samples.rss.append((elapsed, emulator, runner, scheduled, ended))
        samples.arrays, samples.ended = len(stats["arrays"]), ended
        if samples.scheduled_at is None and scheduled >= jobs:
            samples.scheduled_at = elapsed
        samples.cpu = cpu_per_job(flock)
        if ended >= jobs:
            samples.ended_at = elapsed
            done.set()
            return
        done.wait(SAMPLE_SECONDS)


def _job_uuids(flock: Flock, limit: int) -> list[tuple[str, str]]:
    """Return up to `limit` (UUID, status) pairs of job rows."""
    from shepard_local import local_session

    dynamodb = local_session().client("dynamodb", endpoint_url=flock.state.aws_endpoint)
    page = dynamodb.scan(TableName=flock.state.names.table, Limit=limit)
    return [(item["UUID"]["S"], item.get("JOB_STATUS", {}).get("S", "")) for item in page["Items"]]


def probe(flock: Flock, every: float, done: threading.Event, times: dict[str, list[float]]) -> None:
    """Time `watch --once`, `status`, `logs` and `cancel` of a job every `every` seconds until done."""
    cancelled: set[str] = set()
    while not done.wait(every):
        rows = _job_uuids(flock, 50)
        if not rows:
            continue
        uuid = rows[0][0]
        waiting = [
            u for u, status in rows if status not in {"job_complete", "job_failed"} and u not in cancelled
        ]
        commands: list[tuple[str, list[str]]] = [
            ("shepard --version", ["--version"]),
            ("watch --once", ["watch", "--once", "--output", "json"]),
            ("status", ["status", uuid]),
            ("logs", ["logs", uuid]),
        ]
        if waiting:
            cancelled.add(waiting[-1])
            commands.append(("cancel", ["cancel", waiting[-1]]))
        for label, args in commands:
            began = time.monotonic()
            flock.cli("--profile", "local", *args, check=False)
            times[label].append(time.monotonic() - began)


def start_profile(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Start py-spy sampling `pid` into `out` (collapsed stacks), or return None without py-spy."""
    spy = Path(sys.executable).parent / "py-spy"
    found = str(spy) if spy.is_file() else shutil.which("py-spy")
    if not found:
        return None
    return subprocess.Popen(  # noqa: S603 - a fixed argument list
        [
            found,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "20",
            "--gil",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame(frame: str) -> str:
    """Shorten a py-spy frame `func (path:line)` to `func (package/module.py)`."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for root in ("site-packages/", "/src/", "/lib/python3"):
        if root in path:
            path = path.split(root, 1)[1]
            break
    return f"{name} ({path})"


def top_costs(out: Path, label: str) -> None:
    """Print the functions the samples of `out` spent most time in: own time, and time inside."""
    if not out.is_file():
        print(f"profile {label}: no samples (py-spy not installed or not permitted)")
        return
    own: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")[1:]]  # the first frame names the thread
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inside[name] += count
    print(f"profile {label}: {total} samples holding the GIL at 20/s (~{total / 20:.0f} s of Python CPU)")
    print("  own time:")
    for name, count in own.most_common(TOP):
        print(f"    {100 * count / max(total, 1):5.1f}%  {name}")
    print("  time inside (functions of shepard, moto, botocore):")
    interesting = ("shepard_", "moto/", "botocore/", "boto3/")
    shown = 0
    for name, count in inside.most_common():
        if any(part in name for part in interesting) and count < total:
            print(f"    {100 * count / max(total, 1):5.1f}%  {name}")
            shown += 1
            if shown == TOP * 2:
                break


def growth_per_ended_job(samples: Samples) -> float | None:
    """Return the emulator's RSS growth in KiB per job ended, from the first sample with every upload a job.

    Rows, input objects and Batch jobs are all made by then; what grows after is what each ended job
    leaves (its outputs, log events, row updates) and anything kept that should not be.
    """
    scheduled = [
        entry
        for entry in samples.rss
        if samples.scheduled_at is not None and entry[0] >= samples.scheduled_at
    ]
    if len(scheduled) < 2 or scheduled[-1][4] <= scheduled[0][4]:  # noqa: PLR2004 - two samples make a slope
        return None
    first, last = scheduled[0], scheduled[-1]
    return (last[1] - first[1]) * 1024 / (last[4] - first[4])


def report(jobs: int, batch_seconds: float, samples: Samples, times: dict[str, list[float]]) -> None:
    """Print the run's figures."""
    print(f"\n{jobs} jobs: batch --many took {batch_seconds:.0f} s to upload")
    if samples.scheduled_at is not None:
        print(f"every upload scheduled {samples.scheduled_at:.0f} s after the batch began")
    print(f"arrays made: {samples.arrays} ({jobs / max(samples.arrays, 1):.0f} jobs per array)")
    if samples.ended_at is not None:
        rate = 60 * jobs / samples.ended_at
        print(f"all {jobs} ended {samples.ended_at:.0f} s after the batch began: {rate:.0f} jobs/min")
    else:
        print(f"{samples.ended} of {jobs} ended before the bench gave up")
    print(f"emulator RSS peak {samples.peak_emulator:.0f} MiB")
    growth = growth_per_ended_job(samples)
    if growth is not None:
        print(f"emulator RSS growth once every upload was a job: {growth:.0f} KiB per job ended")
    spent = ", ".join(f"{name} {seconds / jobs:.3f} s" for name, seconds in samples.cpu.items())
    per_job = sum(samples.cpu.values()) / jobs
    capacity = 60 * (os.cpu_count() or 1) / max(per_job, 1e-9)
    print(f"CPU per job: {spent}; total {per_job:.3f} s (all cores free: ~{capacity:.0f} jobs/min)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("   time  emulator MiB  runner MiB  scheduled  ended")
    step = max(1, len(samples.rss) // 20)
    for elapsed, emulator, runner, scheduled, ended in samples.rss[::step] + samples.rss[-1:]:
        print(f"  {elapsed:5.0f}  {emulator:12.0f}  {runner:10.0f}  {scheduled:9d}  {ended:5d}")
    for label, values in times.items():
        if values:
            print(
                f"{label:<13} {len(values):3d} calls: median {sorted(values)[len(values) // 2]:.2f} s,"
                f" max {max(values):.2f} s"
            )


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(prog="bench_local.py")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--probe-seconds", type=float, default=30, help="Seconds between command probes.")
    parser.add_argument("--timeout", type=float, default=3600, help="Give up after this many seconds.")
    parser.add_argument(
        "--keep", type=Path, default=None, help="Work in DIR and keep the flock's logs there."
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="shepard-bench-local-"))
    work.mkdir(parents=True, exist_ok=True)
    folder, tsv = write_jobs(work, args.jobs)
    flock = start_flock(work)
    profiles = {"emulator": work / "emulator.spy", "runner": work / "runner.spy"}
    spies = [
        start_profile(flock.state.moto_pid, profiles["emulator"]),
        start_profile(flock.state.runner_pid, profiles["runner"]),
    ]
    done = threading.Event()
    samples = Samples()
    times: dict[str, list[float]] = {
        name: [] for name in ("shepard --version", "watch --once", "status", "logs", "cancel")
    }
    started = time.monotonic()
    sampler = threading.Thread(target=sample, args=(flock, args.jobs, started, done, samples), daemon=True)
    prober = threading.Thread(target=probe, args=(flock, args.probe_seconds, done, times), daemon=True)
    sampler.start()
    prober.start()
    try:
        flock.cli(
            "--profile",
            "local",
            "batch",
            "--path-to-local-folder-to-batch",
            str(folder),
            "--many",
            str(tsv),
            timeout=args.timeout,
        )
        batch_seconds = time.monotonic() - started
        done.wait(max(1.0, args.timeout - batch_seconds))
        done.set()
        sampler.join(60)
        prober.join(120)
    finally:
        for spy in spies:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    spy.wait(60)
        flock.cli("--profile", "local", "local", "down", check=False)
    report(args.jobs, batch_seconds, samples, times)
    for label, out in profiles.items():
        top_costs(out, label)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
