# /// script
# dependencies = ["nox>=2025.2.9"]
# ///
"""Every build, test, lint and benchmark entry point of the Shepard monorepo."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
PACKAGES = sorted(p.name for p in PACKAGES_DIR.iterdir() if (p / "pyproject.toml").is_file())
PYTHON = "3.11"


def _pyproject(package: str) -> dict[str, object]:
    with (PACKAGES_DIR / package / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _local_closure(package: str) -> list[str]:
    """Return the package and every sibling package it depends on, dependencies first."""
    seen: list[str] = []

    def visit(name: str) -> None:
        project = _pyproject(name)["project"]
        if not isinstance(project, dict):
            raise TypeError(f"packages/{name}/pyproject.toml has no [project] table")
        for requirement in project.get("dependencies", []):
            dep = str(requirement).split(";")[0].split("[")[0].strip()
            for sep in "<>=!~ ":
                dep = dep.split(sep)[0]
            if dep in PACKAGES and dep not in seen:
                visit(dep)
        if name not in seen:
            seen.append(name)

    visit(package)
    return seen


def _test_group(package: str) -> list[str]:
    return list(nox.project.dependency_groups(_pyproject(package), "test"))


def install_packages(session: nox.Session, *packages: str, extras: str = "") -> None:
    """Install the packages (built as wheels, not editable) with their sibling dependencies."""
    closure: list[str] = []
    for package in packages:
        closure += [p for p in _local_closure(package) if p not in closure]
    targets = [str(PACKAGES_DIR / p) + (extras if p in packages and extras else "") for p in closure]
    session.install(*targets)


@nox.session(python=PYTHON, tags=["test"])
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Test one package in a fresh environment holding only it, its siblings and its test group."""
    install_packages(session, package)
    session.install(*_test_group(package))
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


@nox.session(python=PYTHON, tags=["test"])
def integration(session: nox.Session) -> None:
    """Run the end-to-end tests that cross packages, against moto server (and Docker when present)."""
    tests_dir = ROOT / "tests-integration"
    if not any(tests_dir.glob("test_*.py")):
        session.skip("no integration tests yet")
    install_packages(session, *PACKAGES)
    with (tests_dir / "requirements.txt").open() as f:
        session.install(*[line.strip() for line in f if line.strip() and not line.startswith("#")])
    session.run("pytest", "tests-integration", *session.posargs)


@nox.session(python=PYTHON, tags=["test", "lint"])
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, tags=["test", "lint"])
def typecheck(session: nox.Session) -> None:
    """Run mypy --strict over every package's src/."""
    install_packages(session, *PACKAGES)
    session.install("mypy>=1.13", "boto3-stubs[full]>=1.35", "types-docker", "types-PyYAML")
    for package in PACKAGES:
        session.run("mypy", "--strict", str(PACKAGES_DIR / package / "src"))


CLOUDFORMATION_DIR = ROOT / "cloudformation"
TEMPLATE = CLOUDFORMATION_DIR / "shepard.yml"
# The copy shepard-local ships, so `shepard local up` outside a checkout builds the flock from it.
TEMPLATE_COPIES = (TEMPLATE, PACKAGES_DIR / "shepard-local" / "src" / "shepard_local" / "shepard.yml")


def _render_template(session: nox.Session, *args: str) -> None:
    install_packages(session, "shepard-scheduler")
    for output in TEMPLATE_COPIES:
        session.run(
            "python",
            "-m",
            "shepard_template",
            "--output",
            str(output),
            *args,
            env={"PYTHONPATH": str(CLOUDFORMATION_DIR)},
        )


@nox.session(python=PYTHON, default=False)
def template(session: nox.Session) -> None:
    """Render shepard.yml and shepard-local's copy with the scheduler code inlined (`-- --check` verifies)."""
    _render_template(session, *session.posargs)


@nox.session(python=PYTHON, tags=["test"])
def template_check(session: nox.Session) -> None:
    """Fail when the committed shepard.yml, or shepard-local's copy, differs from a fresh render."""
    _render_template(session, "--check")


@nox.session(python=PYTHON, tags=["test"])
def cfn_lint(session: nox.Session) -> None:
    """Lint the generated template with cfn-lint: no errors, no warnings."""
    session.install("cfn-lint>=1.51")
    session.run("cfn-lint", "--", str(TEMPLATE.relative_to(ROOT)))


@nox.session(python=PYTHON, tags=["test"])
def checkov(session: nox.Session) -> None:
    """Scan the generated template with checkov; every failed check is fixed or suppressed with a reason."""
    session.install("checkov>=3.2")
    session.run(
        "checkov",
        "-f",
        str(TEMPLATE.relative_to(ROOT)),
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
    )


@nox.session(python=PYTHON, tags=["test"])
def template_tests(session: nox.Session) -> None:
    """Run the inline Lambda code extracted from shepard.yml, and create the stack, against moto server."""
    project = _pyproject("shepard-scheduler")["project"]
    if not isinstance(project, dict):
        raise TypeError("packages/shepard-scheduler/pyproject.toml has no [project] table")
    # What the Lambda runtime and the Powertools layer provide; the shepard-* code comes from the template.
    runtime = [str(dep) for dep in project.get("dependencies", []) if not str(dep).startswith("shepard-")]
    session.install(*runtime, "pytest>=8", "moto[server]>=5.0", "PyYAML>=6")
    session.run(
        "pytest", "cloudformation/tests", *session.posargs, env={"PYTHONPATH": str(CLOUDFORMATION_DIR)}
    )


@nox.session(python=PYTHON, default=False)
def bench_zipindex(session: nox.Session) -> None:
    """Print reads and bytes per find_inputs() + read() for 1 MB to 4.5 GB zips, beside stdlib zipfile."""
    install_packages(session, "shepard-zipindex", extras="[s3]")
    session.install("moto[server]>=5.0")
    session.run("python", "packages/shepard-zipindex/bench/bench_zipindex.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Run a local flock end to end: the examples through S3 and the API plus a bad job, then a summary."""
    install_packages(session, "shepard-local")
    session.run("shepard", "local", "demo", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench_scheduler(session: nox.Session) -> None:
    """Print the scheduler's AWS calls per job by API and the jobs/minute ceilings AWS's quotas imply."""
    install_packages(session, "shepard-scheduler")
    session.install("moto[server]>=5.0")
    session.run("python", "packages/shepard-scheduler/bench/bench_scheduler.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def worker_image(session: nox.Session) -> None:
    """Build the worker image (Docker engine + shepard-worker) from local parts: shepard-worker:latest."""
    session.install("docker>=7")
    session.run("python", "packages/shepard-worker/docker/build.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench_worker(session: nox.Session) -> None:
    """Print the worker's staging and zip+upload overhead for a 1 GiB output, beside the seed's way."""
    install_packages(session, "shepard-worker")
    session.install("moto[server]>=5.0")
    session.run("python", "packages/shepard-worker/bench/bench_worker.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench_cli(session: nox.Session) -> None:
    """Print shepard's start-up time, batch zipping throughput and the AWS calls one batched job costs."""
    install_packages(session, "shepard-cli")
    session.install("moto[server]>=5.0")
    session.run("python", "packages/shepard-cli/bench/bench_cli.py", *session.posargs)
