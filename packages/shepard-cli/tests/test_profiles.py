import json

import pytest
from shepard_cli._errors import CliError
from shepard_cli.profiles import PROFILE_ATTRIBUTES, ProfileStore


class TestProfileStore:
    def test_saved_profile_loads_back(self, store):
        """A saved profile loads back with the same attributes, empty values left out."""
        store.save("a", {"shepard_cli_secret_store": "s", "shepard_cli_registry": ""})
        assert store.load("a") == {"shepard_cli_secret_store": "s"}

    def test_dropped_in_file_is_a_profile(self, store, home):
        """A JSON file dropped into the profile folder is listed and loaded as a profile."""
        home.mkdir(parents=True)
        (home / "imported.json").write_text(json.dumps({"shepard_cli_dynamo_db_to_query": "t"}))
        assert store.names() == ["imported"]
        assert store.load("imported")["shepard_cli_dynamo_db_to_query"] == "t"

    @pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x.json"])
    def test_unsafe_names_are_refused(self, store, name):
        """Names that are not plain file names are refused."""
        with pytest.raises(CliError, match="cannot name a profile"):
            store.save(name, {})

    def test_malformed_file_is_reported(self, store, home):
        """A profile file that is not a JSON object is reported with its path."""
        home.mkdir(parents=True)
        (home / "broken.json").write_text("[1, 2]")
        with pytest.raises(CliError, match="not a JSON object"):
            store.load("broken")

    def test_deleting_the_current_profile_clears_it(self, store):
        """Deleting the current profile leaves no profile current."""
        store.save("a", {})
        store.set_current("a")
        store.delete("a")
        assert store.current() is None

    def test_home_follows_the_environment(self, home):
        """SHEPARD_CLI_HOME chooses the profile folder."""
        assert ProfileStore().home == home


class TestProfileCommands:
    def test_configure_prompts_for_every_attribute(self, run, store):
        """Configure asks for each attribute, saves the answers and makes the first profile current."""
        given = {
            "shepard_cli_account_number": "123456789012",
            "shepard_cli_ecr_repo_to_push_to": "repo",
            "shepard_cli_s3_bucket_to_upload_to": "inputs",
        }
        answers = "".join(f"{given.get(name, '')}\n" for name in PROFILE_ATTRIBUTES)
        result = run("configure", "flock", input=answers)
        assert result.exit_code == 0, result.output
        assert store.load("flock") == {
            "shepard_cli_account_number": "123456789012",
            "shepard_cli_ecr_repo_to_push_to": "repo",
            "shepard_cli_s3_bucket_to_upload_to": "inputs",
        }
        assert store.current() == "flock"

    def test_configure_stores_folders_as_absolute_paths(self, run, store, tmp_path, monkeypatch):
        """Folders answered relative to the working folder are stored absolute: the profile works anywhere."""
        monkeypatch.chdir(tmp_path)
        given = {"shepard_cli_path_to_local_folder_to_batch": "job", "shepard_cli_secret_store": "kept/as-is"}
        answers = "".join(f"{given.get(name, '')}\n" for name in PROFILE_ATTRIBUTES)
        assert run("configure", "flock", input=answers).exit_code == 0
        assert store.load("flock") == {
            "shepard_cli_path_to_local_folder_to_batch": str(tmp_path / "job"),
            "shepard_cli_secret_store": "kept/as-is",
        }

    def test_home_relative_folder_in_a_profile_is_found(self, run, flock, store, tmp_path, monkeypatch):
        """A folder written with `~` in a hand-made profile file is found under the home folder."""
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / "job").mkdir()
        (tmp_path / "job" / "inputs.txt").write_text("{}")
        store.save("test", flock.profile() | {"shepard_cli_path_to_local_folder_to_batch": "~/job"})
        result = run("batch")
        assert result.exit_code == 0, result.output
        assert len(flock.keys(flock.inputs_bucket)) == 1

    def test_configure_keeps_and_clears_values(self, run, store):
        """Enter keeps an attribute's value and '-' removes it."""
        store.save(
            "flock",
            {
                "shepard_cli_account_number": "123456789012",
                "shepard_cli_role_to_assume_to_target_account": "r",
            },
        )
        result = run(
            "configure", "--profile_name", "flock", input="\n-\n" + "\n" * (len(PROFILE_ATTRIBUTES) - 2)
        )
        assert result.exit_code == 0, result.output
        assert store.load("flock") == {"shepard_cli_account_number": "123456789012"}

    def test_check_profile_marks_the_current_one(self, run, store):
        """`check-profile` lists every profile, marks the current one and prints its attributes."""
        store.save("a", {"shepard_cli_secret_store": "sa"})
        store.save("b", {"shepard_cli_secret_store": "sb"})
        store.set_current("b")
        output = run("check-profile").output
        assert "a\n" in output
        assert "b (current)" in output
        assert "shepard_cli_secret_store = sb" in output

    def test_check_profile_marks_the_profile_in_use(self, run, store):
        """With --profile, check-profile marks and shows that profile."""
        store.save("a", {"shepard_cli_secret_store": "sa"})
        output = run("--profile", "a", "check-profile").output
        assert "a (current)" in output
        assert "shepard_cli_secret_store = sa" in output

    def test_check_profile_without_current(self, run):
        """`check-profile` says so when no profile is set."""
        assert "No profile is currently set." in run("check_profile").output

    def test_set_profile_with_the_original_option(self, run, store):
        """`set_profile` --profile_name makes that profile current."""
        store.save("a", {})
        assert run("set_profile", "--profile_name", "a").exit_code == 0
        assert store.current() == "a"

    def test_set_profile_refuses_unknown_names(self, run):
        """`set-profile` refuses a profile that does not exist."""
        result = run("set-profile", "ghost")
        assert result.exit_code == 1
        assert "there is no profile 'ghost'" in result.output

    def test_delete_profile(self, run, store):
        """`delete-profile` removes the profile's file."""
        store.save("a", {})
        assert run("delete-profile", "a").exit_code == 0
        assert store.names() == []

    def test_where_am_i_prints_the_folder(self, run, home):
        """`where_am_i` prints the profile folder."""
        assert run("where_am_i").output.strip() == str(home)

    @pytest.mark.parametrize("damage", ["deleted", "malformed"])
    def test_broken_current_profile_does_not_lock_out_profile_commands(self, run, store, home, damage):
        """A current profile whose file was deleted or broken by hand still lets the profile commands run."""
        # GIVEN a current profile whose file is then deleted or broken outside shepard
        store.save("gone", {})
        store.save("good", {})
        store.set_current("gone")
        current = (home / "current_profile").read_text()
        if damage == "deleted":
            (home / "gone.json").unlink()
        else:
            (home / "gone.json").write_text("{not json")
        # WHEN commands that need no profile run, THEN they work
        assert run("where-am-i").output.strip() == str(home)
        assert run("check-role").exit_code == 0
        assert run("set-profile", "good").exit_code == 0
        (home / "current_profile").write_text(current)
        assert run("clear_profile_config").exit_code == 0
        assert store.current() is None
        # AND a command that reads the profile still says what is wrong with it
        (home / "current_profile").write_text(current)
        result = run("query")
        assert result.exit_code == 1
        assert "gone" in result.output

    def test_damaged_current_profile_file_is_one_line_and_can_be_cleared(self, run, home):
        """A current-profile file that is not text is reported in one line; clear-profile-config fixes it."""
        home.mkdir(parents=True)
        (home / "current_profile").write_bytes(b"\xff\xfe")
        result = run("query")
        assert result.exit_code == 1
        assert "current_profile is damaged" in result.output
        assert run("clear-profile-config").exit_code == 0
        assert "no value for --dynamo-db-to-query" in run("query").output

    def test_clear_profile_config(self, run, store):
        """`clear_profile_config` leaves no profile current but keeps the profiles."""
        store.save("a", {})
        store.set_current("a")
        assert "No profile is current now." in run("clear_profile_config").output
        assert store.current() is None
        assert store.names() == ["a"]


class TestPrecedence:
    def _table(self, flock, name):
        flock.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def test_profile_beats_default(self, run, flock):
        """With no flag, the current profile's value is used."""
        result = run("query", "--output", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == []

    def test_flag_beats_profile(self, run, flock):
        """A flag's value wins over the profile's."""
        result = run("query", "--dynamo_db_to_query", "elsewhere")
        assert "ResourceNotFoundException" in result.output

    def test_global_profile_option_picks_another_profile(self, run, flock, store):
        """--profile uses the named profile instead of the current one."""
        store.save("other", flock.profile() | {"shepard_cli_dynamo_db_to_query": "other-table"})
        assert "ResourceNotFoundException" in run("--profile", "other", "query").output
        self._table(flock, "other-table")
        assert run("--profile", "other", "query", "--output", "json").exit_code == 0

    def test_use_env_variables_false_ignores_the_profile(self, run, flock):
        """--use_env_variables False acts as if no profile were set."""
        result = run("--use_env_variables", "False", "--endpoint-url", flock.endpoint, "query")
        assert result.exit_code == 1
        assert "no value for --dynamo-db-to-query" in result.output

    def test_use_env_variables_false_after_the_command(self, run, flock):
        """--use_env_variables False after the command, as older scripts put it, also ignores the profile."""
        result = run("query", "--use_env_variables", "False", "--endpoint-url", flock.endpoint)
        assert result.exit_code == 1
        assert "no value for --dynamo-db-to-query" in result.output
        self._table(flock, "given")
        given = ("--dynamo-db-to-query", "given", "--endpoint-url", flock.endpoint, "--output", "json")
        assert run("query", "--use-env-variables", "False", *given).exit_code == 0
        assert run("query", "--use-env-variables", "True", "--output", "json").exit_code == 0

    @pytest.mark.parametrize(
        ("where", "url", "source"),
        [
            ("flag", "notaurl", "--endpoint-url"),
            ("flag", "http://127.0.0.1:99999", "--endpoint-url"),
            ("environment", "ftp://example.com", "$AWS_ENDPOINT_URL"),
            ("profile", "127.0.0.1:4566", "shepard_cli_endpoint_url in your profile"),
        ],
    )
    def test_bad_endpoint_url_is_one_line_naming_its_source(  # noqa: PLR0913, PLR0917 - fixtures, parameters
        self, run, flock, store, monkeypatch, where, url, source
    ):
        """An endpoint URL that is not http(s)://HOST[:PORT] is refused, naming where it was set."""
        args = ["query"]
        if where == "flag":
            args += ["--endpoint-url", url]
        elif where == "environment":
            monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        else:
            store.save("test", flock.profile() | {"shepard_cli_endpoint_url": url})
        result = run(*args)
        assert result.exit_code == 1
        assert f"{url!r} (from {source}) is not an endpoint URL" in result.output
        assert "Traceback" not in result.output

    def test_endpoint_flag_beats_environment_and_profile(self, run, flock, monkeypatch):
        """--endpoint-url wins over AWS_ENDPOINT_URL, which wins over the profile's endpoint."""
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        assert "Cannot reach AWS" in run("query").output
        assert run("--endpoint-url", flock.endpoint, "query", "--output", "json").exit_code == 0
        assert run("query", "--endpoint_url", flock.endpoint, "--output", "json").exit_code == 0
