"""The local flock's names and its recorded state file."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from shepard_local._control import new_instance, profile_attributes
from shepard_local._state import LOCAL_DIR_VAR, FlockNames, FlockState, FlockStateError, default_local_dir

if TYPE_CHECKING:
    from pathlib import Path


class TestFlockState:
    def test_state_round_trips_through_its_file(self, tmp_path: Path):
        """What `local up` records is what `status` and `down` read back."""
        state = FlockState(
            directory=tmp_path,
            names=FlockNames(prefix="p", instance="0a1b2c3d"),
            aws_endpoint="http://127.0.0.1:1",
            moto_pid=7,
        )
        state.save()
        loaded = FlockState.load(tmp_path)
        assert loaded == state
        assert loaded.names.inputs_bucket == "p-inputs"
        assert loaded.names.ecr_repo == "p-0a1b2c3d"
        assert json.loads(state.path.read_text())["names"] == {"prefix": "p", "instance": "0a1b2c3d"}

    def test_a_state_file_without_an_instance_still_loads(self, tmp_path: Path):
        """A flock recorded before instances existed can still be read, and stopped, by name."""
        state = FlockState(
            directory=tmp_path, names=FlockNames(prefix="p"), aws_endpoint="http://e", moto_pid=7
        )
        state.save()
        data = json.loads(state.path.read_text())
        state.path.write_text(json.dumps({**data, "names": {"prefix": "p"}}))
        loaded = FlockState.load(tmp_path)
        assert loaded is not None
        assert loaded.names == FlockNames(prefix="p")

    def test_no_state_file_means_no_flock(self, tmp_path: Path):
        """A directory without a state file holds no flock."""
        assert FlockState.load(tmp_path) is None

    def test_an_unreadable_state_file_says_how_to_recover(self, tmp_path: Path):
        """A corrupt state file is an error that names the file and the way out."""
        (tmp_path / "flock.json").write_text("{not json")
        with pytest.raises(FlockStateError, match=r"flock\.json is unreadable .*shepard local up"):
            FlockState.load(tmp_path)

    def test_fields_a_newer_version_recorded_are_ignored(self, tmp_path: Path):
        """Keys the state class does not know are skipped, so an older CLI can still stop the flock."""
        state = FlockState(directory=tmp_path, names=FlockNames(), aws_endpoint="http://e", runner_pid=9)
        state.save()
        data = json.loads(state.path.read_text())
        state.path.write_text(json.dumps({**data, "added_later": 1}))
        loaded = FlockState.load(tmp_path)
        assert loaded is not None
        assert loaded.runner_pid == 9


class TestFlockNames:
    def test_every_name_derives_from_the_prefix(self):
        """Each resource name of a flock starts with its prefix, so two flocks never share a resource."""
        names = FlockNames(prefix="p", instance="0a1b2c3d")
        attributes = [attribute for attribute in dir(FlockNames) if not attribute.startswith("_")]
        values = [getattr(names, attribute) for attribute in attributes if attribute != "instance"]
        assert all(str(value).startswith("p") for value in values)
        assert names.dead_letter_queue == f"{names.queue}-dlq"

    def test_each_flock_deploys_to_a_repository_of_its_own(self):
        """Two flocks with one prefix name different image repositories: one never runs the other's image."""
        first, second = (FlockNames(prefix="p", instance=new_instance()) for _ in range(2))
        assert first.ecr_repo != second.ecr_repo
        assert first.inputs_bucket == second.inputs_bucket
        # ECR's rule for repository names: lowercase parts joined by one of . _ -
        assert all(re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", n.ecr_repo) for n in (first, second))


class TestDefaultLocalDir:
    def test_the_variable_names_the_directory(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """SHEPARD_LOCAL_DIR, when set, is the flock directory."""
        monkeypatch.setenv(LOCAL_DIR_VAR, str(tmp_path))
        assert default_local_dir() == tmp_path

    def test_without_it_the_home_folder_holds_it(self, monkeypatch: pytest.MonkeyPatch):
        """Without SHEPARD_LOCAL_DIR the flock lives in ~/.shepard/local."""
        monkeypatch.delenv(LOCAL_DIR_VAR, raising=False)
        assert default_local_dir().parts[-2:] == (".shepard", "local")


class TestLocalProfile:
    def test_the_profile_names_every_resource_the_cli_acts_on(self, tmp_path: Path):
        """The `local` profile holds the flock's names under the keys shepard-flock maps its outputs to."""
        names = FlockNames(prefix="p", instance="0a1b2c3d")
        state = FlockState(
            directory=tmp_path,
            names=names,
            aws_endpoint="http://127.0.0.1:1",
            api_endpoint="http://127.0.0.1:2",
            registry="127.0.0.1:5000",
            endpoint_function="p-endpoint-from-stack",
        )
        assert profile_attributes(state) == {
            "shepard_cli_endpoint_url": "http://127.0.0.1:2",
            "shepard_cli_s3_bucket_to_upload_to": "p-inputs",
            "shepard_cli_s3_bucket_for_results": "p-outputs",
            "shepard_cli_errors_bucket": "p-errors",
            "shepard_cli_dynamo_db_to_query": names.table,
            "shepard_cli_secret_store": names.secret,
            "shepard_cli_ecr_repo_to_push_to": "p-0a1b2c3d",
            "shepard_cli_lambda_to_invoke": "p-endpoint-from-stack",
            "shepard_cli_scheduler_queue_url": f"http://127.0.0.1:2/123456789012/{names.queue}",
            "shepard_cli_cloudformation_to_describe": "p",
            "shepard_cli_directory_to_sync_s3_bucket_to": str(tmp_path / "results"),
            "shepard_cli_registry": "127.0.0.1:5000",
        }

    def test_before_the_stack_reports_it_the_endpoint_function_is_the_named_one(self, tmp_path: Path):
        """Without a recorded endpoint function the profile names the one the flock's names give."""
        names = FlockNames(prefix="p")
        state = FlockState(directory=tmp_path, names=names, aws_endpoint="http://127.0.0.1:1")
        profile = profile_attributes(state)
        assert profile["shepard_cli_lambda_to_invoke"] == names.endpoint_function
        assert "shepard_cli_registry" not in profile
