# ruff: noqa: INP001 - a script run by nox, not a package
"""Build the Shepard worker image from local parts only: the base image, the host's engine, the wheels.

Usage: python packages/shepard-worker/docker/build.py [--tag shepard-worker:latest] [--base IMAGE]

Steps (on the host): build the shepard-core and shepard-worker wheels with `uv build`; install them and
their dependencies with `uv pip install --target` for the base image's Python version (uv fetches
dependency wheels from its cache or the package index, never from an image registry); copy dockerd,
containerd, containerd-shim-runc-v2, runc and docker-init from the host (Debian's docker.io) with the
shared libraries they link; then `docker build` that context with no network. Needs the docker SDK,
uv and ldd on the host, and a Docker engine (DOCKER_HOST, else scripts/docker-engine.sh's socket).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = HERE.parent.parent
DEFAULT_TAG = "shepard-worker:latest"
DEFAULT_BASE = "local/bookworm-py:1"
ENGINE_BINARIES = ("dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker-init")
LOCAL_ENGINE_SOCKET = Path("/tmp/shepard-docker/docker.sock")  # noqa: S108 - scripts/docker-engine.sh's engine
SKIPPED_LIBRARIES = ("linux-vdso", "ld-linux", "libc.so", "libm.so", "libpthread", "libdl.so", "librt.so")


def _run(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout  # noqa: S603


def _python_version(client: object, base: str) -> str:
    output = client.containers.run(  # type: ignore[attr-defined]
        base,
        ["python3", "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        network_mode="none",
        remove=True,
    )
    return output.decode().strip()


def _copy_engine(context: Path) -> None:
    bin_dir = context / "engine" / "bin"
    lib_dir = context / "engine" / "lib"
    bin_dir.mkdir(parents=True)
    lib_dir.mkdir(parents=True)
    for name in ENGINE_BINARIES:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if found is None:
            sys.exit(f"build.py: {name} is not installed on this host (apt-get install docker.io)")
        source = Path(found).resolve()
        shutil.copy2(source, bin_dir / name)
        for line in _run("ldd", str(source), check=False).splitlines():  # a static binary lists none
            parts = line.split("=>")
            if len(parts) != 2 or any(skip in parts[0] for skip in SKIPPED_LIBRARIES):  # noqa: PLR2004
                continue
            library = parts[1].split("(")[0].strip()
            if library and Path(library).is_file():
                shutil.copy2(library, lib_dir / Path(library).name)


def _install_worker(context: Path, python_version: str, uv: str) -> None:
    wheels = context / "wheels"
    for package in ("shepard-core", "shepard-worker"):
        _run(uv, "build", "--wheel", "--out-dir", str(wheels), str(PACKAGES / package))
    _run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--target",
        str(context / "site-packages"),
        "--python-version",
        python_version,
        "--python-platform",
        "x86_64-manylinux_2_28",
        "--only-binary",
        ":all:",
        *[str(w) for w in sorted(wheels.glob("*.whl"))],
    )
    shutil.rmtree(context / "site-packages" / "bin", ignore_errors=True)
    shutil.rmtree(wheels)


def build(tag: str, base: str) -> str:
    """Build the worker image `tag` FROM `base` and return its id."""
    import docker

    uv = shutil.which("uv")
    if uv is None:
        sys.exit("build.py: uv is not on PATH (python3 -m pip install uv)")
    if "DOCKER_HOST" not in os.environ and LOCAL_ENGINE_SOCKET.exists():
        os.environ["DOCKER_HOST"] = f"unix://{LOCAL_ENGINE_SOCKET}"
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        sys.exit(f"build.py: no Docker engine reachable (set DOCKER_HOST): {exc}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shepard-worker-image-") as tmp:
        context = Path(tmp)
        for name in ("Dockerfile", "shepard-worker", "shepard-worker-entrypoint"):
            shutil.copy2(HERE / name, context / name)
        _copy_engine(context)
        _install_worker(context, _python_version(client, base), uv)
        image, _logs = client.images.build(
            path=str(context), tag=tag, buildargs={"BASE_IMAGE": base}, network_mode="none", rm=True
        )
    client.close()
    print(f"built {tag} ({image.short_id}) from {base} in {time.monotonic() - started:.1f} s")  # noqa: T201
    return str(image.id)


def main() -> None:
    """Parse the arguments and build."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=os.environ.get("SHEPARD_WORKER_IMAGE", DEFAULT_TAG))
    parser.add_argument("--base", default=os.environ.get("SHEPARD_BASE_IMAGE", DEFAULT_BASE))
    args = parser.parse_args()
    build(args.tag, args.base)


if __name__ == "__main__":
    main()
