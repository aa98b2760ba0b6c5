"""`shepard local up` makes the `local` profile current or says how; `shepard local env` reaches the flock."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import boto3
import pytest
from click.testing import CliRunner
from shepard_cli.profiles import ProfileStore
from shepard_local import local
from shepard_local._local_profile import adopt_profile
from shepard_local._state import FlockNames, FlockState

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProfileStore:
    """An empty profile folder, as SHEPARD_CLI_HOME."""
    monkeypatch.setenv("SHEPARD_CLI_HOME", str(tmp_path / "profiles"))
    made = ProfileStore(tmp_path / "profiles")
    made.save("local", {"shepard_cli_endpoint_url": "http://127.0.0.1:1"})
    return made


class TestAdoptProfile:
    def test_without_a_current_profile_local_becomes_current(self, store: ProfileStore):
        """A first `up` makes `local` current and says so."""
        assert "Current profile is now 'local'" in adopt_profile(store, "local")
        assert store.current() == "local"

    def test_local_already_current_stays_current(self, store: ProfileStore):
        """A second `up` leaves `local` current."""
        store.set_current("local")
        assert "Current profile is now 'local'" in adopt_profile(store, "local")
        assert store.current() == "local"

    def test_another_profile_stays_current_and_the_line_says_how(self, store: ProfileStore):
        """A profile of a real flock is never replaced: the line gives both ways to use `local`."""
        store.save("prod", {"shepard_cli_s3_bucket_to_upload_to": "prod-inputs"})
        store.set_current("prod")
        line = adopt_profile(store, "local")
        assert store.current() == "prod"
        assert "Current profile stays 'prod'" in line
        assert "shepard --profile local" in line
        assert "shepard set-profile local" in line

    def test_a_current_profile_that_was_deleted_is_replaced(self, store: ProfileStore):
        """A current-profile pointer to a missing profile does not hold `local` back."""
        (store.home / "current_profile").write_text("gone\n")
        adopt_profile(store, "local")
        assert store.current() == "local"


class TestEnv:
    @pytest.fixture
    def flock_dir(self, tmp_path: Path, aws_endpoint: str) -> Path:
        """A recorded flock whose AWS endpoint is the moto server (its processes are not running)."""
        directory = tmp_path / "flock"
        FlockState(
            directory=directory,
            names=FlockNames(),
            aws_endpoint="http://127.0.0.1:9",
            api_endpoint=aws_endpoint,
            moto_pid=0,
            runner_pid=0,
        ).save()
        boto3.client("s3", endpoint_url=aws_endpoint).create_bucket(Bucket="shepard-env-probe")
        return directory

    def test_eval_of_the_exports_lets_boto3_reach_the_flock(self, flock_dir: Path, aws_endpoint: str):
        """In a shell that evals the output, boto3 with no arguments lists the flock's buckets."""
        result = CliRunner().invoke(local, ["env", "--dir", str(flock_dir)])
        assert result.exit_code == 0, result.output
        assert f"export AWS_ENDPOINT_URL={aws_endpoint}" in result.stdout.splitlines()
        probe = "import boto3; print(sorted(b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']))"
        # a user's own profile and token are set, to show the exports win over them
        environment = {"PATH": "/usr/bin:/bin", "AWS_PROFILE": "someone-else", "AWS_SESSION_TOKEN": "x"}
        shown = subprocess.run(  # noqa: S603 - an argument list; the script gets its inputs as arguments
            ["/bin/sh", "-c", 'eval "$1" && exec "$2" -c "$3"', "sh", result.stdout, sys.executable, probe],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert "shepard-env-probe" in shown.stdout

    def test_a_stopped_flock_is_named_on_stderr(self, flock_dir: Path):
        """The exports are printed, and stderr says the recorded flock is not running."""
        result = CliRunner().invoke(local, ["env", "--dir", str(flock_dir)])
        assert "is not running" in result.stderr
        assert "export AWS_SECRET_ACCESS_KEY=shepard-local" in result.stdout

    def test_no_flock_is_one_line(self, tmp_path: Path):
        """Without a recorded flock env fails, naming `shepard local up`."""
        result = CliRunner().invoke(local, ["env", "--dir", str(tmp_path / "none")])
        assert result.exit_code == 1
        assert "shepard local up" in result.output

    def test_unset_undoes_the_exports(self):
        """--unset prints one line unsetting the endpoint and the credentials."""
        result = CliRunner().invoke(local, ["env", "--unset"])
        assert result.stdout.split() == [
            "unset",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
        ]
