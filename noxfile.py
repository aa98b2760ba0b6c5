# /// script
# dependencies = ["nox>=2025.2.9", "packaging>=24"]
# ///
"""Every build, test, lint and benchmark entry point of the Shepard monorepo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = False
# A session whose Python is missing fails instead of being skipped: CI must test every version.
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
PACKAGES = sorted(p.name for p in PACKAGES_DIR.iterdir() if (p / "pyproject.toml").is_file())
CLOUDFORMATION_DIR = ROOT / "cloudformation"
TEMPLATE = CLOUDFORMATION_DIR / "shepard.yml"
TEST_KIT = "shepard-testing"
# The flock's definition: it renders the template and names what the Lambda functions run on.
FLOCK = "shepard-flock"
# The development Python, and the worker's: its image (Debian bookworm) ships python3 = 3.11.
PYTHON = "3.11"


def _lambda_runtime() -> tuple[str, list[str]]:
    """Return the Lambda runtime's Python and the distributions bundled into it, as shepard-flock says."""
    sys.path.insert(0, str(PACKAGES_DIR / FLOCK / "src"))
    try:
        from shepard_flock._lambda_runtime import BUNDLED_DISTRIBUTIONS, LAMBDA_PYTHON
    finally:
        sys.path.pop(0)
    return LAMBDA_PYTHON, list(BUNDLED_DISTRIBUTIONS.values())


# The code bundled into the Lambda functions also runs on their runtime.
LAMBDA_PYTHON, LAMBDA_PACKAGES = _lambda_runtime()


def _pyenv_root() -> Path | None:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    found = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
    return Path(found.stdout.strip()) if found.returncode == 0 else None


def _expose_pyenv_python(version: str) -> None:
    """Put pyenv's newest `version` interpreter on PATH as `python<version>`, when pyenv has one.

    pyenv's shims answer for every installed version but run only the active one, so the interpreter
    is linked into .nox/.interpreters instead; without pyenv, PATH is left as it is.
    """
    root = _pyenv_root()
    if root is None:
        return
    candidates = []
    for directory in (root / "versions").glob(f"{version}.*"):
        try:
            candidates.append((Version(directory.name), directory / "bin" / f"python{version}"))
        except InvalidVersion:
            continue
    usable = [(found, path) for found, path in candidates if path.is_file() and not found.is_prerelease]
    if not usable:
        return
    _, interpreter = max(usable)
    links = ROOT / ".nox" / ".interpreters"
    links.mkdir(parents=True, exist_ok=True)
    link = links / f"python{version}"
    if not (link.is_symlink() and link.readlink() == interpreter):
        link.unlink(missing_ok=True)
        link.symlink_to(interpreter)
    if str(links) not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ['PATH']}"


_expose_pyenv_python(LAMBDA_PYTHON)


def _pyproject(package: str) -> dict[str, object]:
    with (PACKAGES_DIR / package / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _dependencies(package: str) -> list[Requirement]:
    project = _pyproject(package)["project"]
    if not isinstance(project, dict):
        raise TypeError(f"packages/{package}/pyproject.toml has no [project] table")
    return [Requirement(str(dependency)) for dependency in project.get("dependencies", [])]


def _local_closure(package: str) -> list[str]:
    """Return the package and every sibling package it depends on, dependencies first."""
    seen: list[str] = []

    def visit(name: str) -> None:
        for requirement in _dependencies(name):
            if requirement.name in PACKAGES and requirement.name not in seen:
                visit(requirement.name)
        if name not in seen:
            seen.append(name)

    visit(package)
    return seen


def _test_group(package: str) -> list[str]:
    return list(nox.project.dependency_groups(_pyproject(package), "test"))


WHEELS_DIR = ROOT / ".nox" / ".wheels"
_wheels: dict[str, Path] = {}


def _package_wheels() -> dict[str, Path]:
    """Build every package's wheel once per nox run (with uv) and return them by package name.

    Every session of one run installs the same wheel files instead of building each package again;
    without uv on PATH the sessions install from the package folders, as pip builds them.
    """
    uv = shutil.which("uv")
    if _wheels or uv is None:
        return _wheels
    shutil.rmtree(WHEELS_DIR, ignore_errors=True)
    build = [uv, "build", "--quiet", "--wheel", "--all-packages", "--out-dir", str(WHEELS_DIR)]
    subprocess.run(build, cwd=ROOT, check=True)
    for package in PACKAGES:
        (wheel,) = WHEELS_DIR.glob(f"{package.replace('-', '_')}-*.whl")
        _wheels[package] = wheel
    return _wheels


def compile_on_install(session: nox.Session) -> None:
    """Have the session's installs write bytecode, as pip does and uv does not by default.

    Without it each process that imports boto3 or moto compiles them again wherever Python may not write
    __pycache__ (PYTHONDONTWRITEBYTECODE, as on CI): half a second per `shepard` command, a second or two
    per emulator start. Sessions that start many such processes, or time them, install compiled.
    """
    session.env["UV_COMPILE_BYTECODE"] = "1"


def install_packages(session: nox.Session, *requirements: str) -> None:
    """Install sibling packages (`shepard-zipindex[s3]` names an extra) as wheels, with their siblings."""
    wanted = [Requirement(requirement) for requirement in requirements]
    extras = {requirement.name: sorted(requirement.extras) for requirement in wanted}
    closure: list[str] = []
    for requirement in wanted:
        closure += [p for p in _local_closure(requirement.name) if p not in closure]
    wheels = _package_wheels()
    targets = [
        str(wheels.get(p, PACKAGES_DIR / p)) + (f"[{','.join(extras[p])}]" if extras.get(p) else "")
        for p in closure
    ]
    session.install(*targets)


# Tests that need no Docker engine run in one process per core (pytest-xdist); the Docker tests then run
# in one process, one at a time, since they share the engine and find their containers by label.
# SHEPARD_TEST_PROCESSES=0 runs the first part in one process too.
XDIST = ["pytest-xdist>=3.6"]
XDIST_ARGS = ["-n", os.environ.get("SHEPARD_TEST_PROCESSES", "auto")]
NO_TESTS_COLLECTED = 5


def _pytest_in_two_parts(session: nox.Session, tests: str, env: dict[str, str] | None = None) -> None:
    """Run `tests` without the Docker tests on every core, then the Docker tests one by one.

    Arguments after `--` go to both runs; a part that selects no test is then not a failure.
    """
    filtered = [0, NO_TESTS_COLLECTED] if session.posargs else [0]
    session.run(
        "pytest", tests, "-m", "not requires_docker", *XDIST_ARGS, *session.posargs, env=env,
        success_codes=filtered,
    )  # fmt: skip
    session.run(
        "pytest", tests, "-m", "requires_docker", *session.posargs, env=env,
        success_codes=[0, NO_TESTS_COLLECTED],
    )  # fmt: skip


def _run_package_tests(session: nox.Session, package: str) -> None:
    install_packages(session, package, TEST_KIT)
    session.install(*_test_group(package), *XDIST)
    _pytest_in_two_parts(session, f"packages/{package}/tests")


# The scheduler runs only in the Lambda functions: the test command tests it on their runtime's Python
# alone (tests-3.13); on 3.11 it runs inside the local flock, which the integration tests drive.
LAMBDA_ONLY = ["shepard-scheduler"]


@nox.session(python=PYTHON)
@nox.parametrize("package", [nox.param(p, tags=[] if p in LAMBDA_ONLY else ["test"]) for p in PACKAGES])
def tests(session: nox.Session, package: str) -> None:
    """Test one package on 3.11 in a fresh environment (the worker only on 3.11: its image ships 3.11)."""
    _run_package_tests(session, package)


@nox.session(name=f"tests-{LAMBDA_PYTHON}", python=LAMBDA_PYTHON, tags=["test"])
@nox.parametrize("package", LAMBDA_PACKAGES)
def tests_lambda_runtime(session: nox.Session, package: str) -> None:
    """Test one package whose code runs inside the Lambda functions on their runtime's Python."""
    _run_package_tests(session, package)


def _integration(session: nox.Session, marks: str) -> None:
    tests_dir = ROOT / "tests-integration"
    compile_on_install(session)
    install_packages(session, *PACKAGES)
    with (tests_dir / "requirements.txt").open() as f:
        session.install(*[line.strip() for line in f if line.strip() and not line.startswith("#")])
    session.run("pytest", "tests-integration", "-m", marks, "--durations=10", *session.posargs)


@nox.session(python=PYTHON, tags=["test"])
def integration(session: nox.Session) -> None:
    """Run the end-to-end tests that cross packages, against moto server (and Docker when present)."""
    _integration(session, "not long")


@nox.session(python=PYTHON, tags=["long"])
def integration_long(session: nox.Session) -> None:
    """Run the long end-to-end runs (thousands of uploads through the local flock; SHEPARD_ARRAY_UPLOADS)."""
    _integration(session, "long")


@nox.session(python=PYTHON, default=False)
def browser(session: nox.Session) -> None:
    """Drive `shepard ui` in headless Chromium (the OS's chromium and chromedriver) against a local flock.

    Screenshots go to $SHEPARD_SCREENSHOTS (default: a temporary folder, printed); without chromium the
    tests are skipped, and with SHEPARD_REQUIRE_BROWSER=1 (CI) they fail instead.
    """
    compile_on_install(session)
    install_packages(session, "shepard-ui", "shepard-local", TEST_KIT)
    session.install(*nox.project.dependency_groups(_pyproject("shepard-ui"), "browser"))
    session.run("pytest", "tests-browser", "--durations=10", *session.posargs)


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
    session.install(
        "mypy>=1.13", "boto3-stubs[full]>=1.35", "types-docker", "types-PyYAML", "moto[server]>=5.0"
    )
    for package in PACKAGES:
        session.run("mypy", "--strict", str(PACKAGES_DIR / package / "src"))


def _render_template(session: nox.Session, *args: str) -> None:
    install_packages(session, FLOCK, *LAMBDA_PACKAGES)
    source = CLOUDFORMATION_DIR / "src" / "shepard.template.yml"
    session.run("python", "-m", "shepard_flock", "--source", str(source), "--output", str(TEMPLATE), *args)


@nox.session(python=PYTHON, default=False)
def template(session: nox.Session) -> None:
    """Render cloudformation/shepard.yml with the Lambda code inlined (`-- --check` verifies it)."""
    _render_template(session, *session.posargs)


@nox.session(python=PYTHON, tags=["test"])
def template_check(session: nox.Session) -> None:
    """Fail when the committed cloudformation/shepard.yml differs from a fresh render."""
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


@nox.session(python=LAMBDA_PYTHON, tags=["test"])
def template_tests(session: nox.Session) -> None:
    """Run the inline Lambda code extracted from shepard.yml, and create the stack, against moto server.

    On the Lambda runtime's Python only: that is where the inline code runs on AWS (on 3.11 it runs in the
    local flock, which the integration tests drive).
    """
    # What the Lambda runtime and the Powertools layer provide; the shepard-* code comes from the template.
    runtime = [str(dep) for dep in _dependencies("shepard-scheduler") if dep.name not in PACKAGES]
    install_packages(session, TEST_KIT, FLOCK)
    session.install(*runtime, "pytest>=8", "moto[server]>=5.0", "PyYAML>=6", *XDIST)
    _pytest_in_two_parts(session, "cloudformation/tests")


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Run a local flock end to end: the examples through S3 and the API plus a bad job, then a summary."""
    compile_on_install(session)
    install_packages(session, "shepard-local")
    session.run("shepard", "local", "demo", *session.posargs)


@nox.session(python=PYTHON, default=False)
def worker_image(session: nox.Session) -> None:
    """Build the worker image (Docker engine + shepard-worker) from local parts: shepard-worker:latest."""
    session.install("docker>=7")
    session.run("python", "packages/shepard-worker/docker/build.py", *session.posargs)


BENCH_PARTS = {
    "zipindex": "shepard-zipindex[s3]",
    "scheduler": "shepard-scheduler",
    "worker": "shepard-worker",
    "cli": "shepard-cli",
    "local": "shepard-local",
    "overview": "shepard-local",  # shepard-cli's readers, and the local flock's emulator to run them on
}
BENCH_SCRIPTS = {"overview": "packages/shepard-cli/bench/bench_overview.py"}
"""Bench parts whose script is not packages/shepard-<part>/bench/bench_<part>.py."""


@nox.session(python=PYTHON, default=False)
@nox.parametrize("part", list(BENCH_PARTS))
def bench(session: nox.Session, part: str) -> None:
    """Print one part's figures (packages/shepard-<part>/bench/bench_<part>.py; its README says which)."""
    compile_on_install(session)
    install_packages(session, BENCH_PARTS[part], f"{TEST_KIT}[aws]")
    if part == "local":
        session.install("py-spy>=0.4")  # the sampling profile of the emulator and the runner
    script = BENCH_SCRIPTS.get(part, f"packages/shepard-{part}/bench/bench_{part}.py")
    session.run("python", script, *session.posargs)
