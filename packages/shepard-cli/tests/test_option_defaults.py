"""Profile values as option defaults: filled once through click's default_map, flag > profile > default."""

import click
import pytest
from shepard_cli import _registry, cli
from shepard_cli.profiles import OPTION_OF_ATTRIBUTE, ProfileStore, option_defaults

PROFILE = {
    "shepard_cli_s3_bucket_to_upload_to": "profile-inputs",
    "shepard_cli_s3_bucket_for_results": "profile-outputs",
    "shepard_cli_directory_to_sync_s3_bucket_to": "/profile/results",
    "shepard_cli_dynamo_db_to_query": "profile-table",
    "shepard_cli_ecr_repo_to_push_to": "profile-repo",
    "shepard_cli_registry": "127.0.0.1:5999",
    "shepard_cli_account_number": "111111111111",
    "shepard_cli_endpoint_url": "http://127.0.0.1:4999",
}

# Commands, their arguments, an option the profile gives a default for, a spelling of it, the profile value.
CASES = [
    ("batch", [], "s3_bucket_to_upload_to", "--s3-bucket-to-upload-to", "profile-inputs"),
    ("retrieve", [], "s3_bucket_for_results", "--s3_bucket_for_results", "profile-outputs"),
    (
        "retrieve",
        [],
        "directory_to_sync_s3_bucket_to",
        "--directory-to-sync-s3-bucket-to",
        "/profile/results",
    ),
    ("query", [], "dynamo_db_to_query", "--dynamo_db_to_query", "profile-table"),
    ("status", ["job"], "dynamo_db_to_query", "--dynamo-db-to-query", "profile-table"),
    ("deploy", [], "ecr_repo_to_push_to", "--ecr-repo-to-push-to", "profile-repo"),
    ("deploy", [], "registry", "--registry", "127.0.0.1:5999"),
    ("set-role", [], "account_number", "--account_number", "111111111111"),
]


@pytest.fixture
def seen(monkeypatch):
    """Return a function that runs a command with its body replaced, returning the values it was given."""

    def run_command(run, name: str, *args: str) -> dict[str, object]:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        values: dict[str, object] = {}
        monkeypatch.setattr(command, "callback", lambda **kwargs: values.update(kwargs))
        result = run(*args)
        assert result.exit_code == 0, result.output
        return values

    return run_command


@pytest.fixture
def current(store: ProfileStore) -> ProfileStore:
    store.save("current", PROFILE)
    store.set_current("current")
    return store


class TestDefaultMap:
    @pytest.mark.parametrize(("name", "args", "option", "flag", "value"), CASES)
    def test_profile_value_is_the_default(self, run, seen, current, name, args, option, flag, value):  # noqa: PLR0913, PLR0917
        """With no flag, the command receives the current profile's value."""
        assert seen(run, name, name, *args)[option] == value

    @pytest.mark.parametrize(("name", "args", "option", "flag", "value"), CASES)
    def test_flag_beats_profile(self, run, seen, current, name, args, option, flag, value):  # noqa: PLR0913, PLR0917
        """A flag, in either spelling, wins over the profile's value."""
        assert seen(run, name, name, *args, flag, "from-flag")[option] == "from-flag"

    @pytest.mark.parametrize(("name", "args", "option", "flag", "value"), CASES)
    def test_no_profile_leaves_the_default(self, run, seen, name, args, option, flag, value):  # noqa: PLR0913, PLR0917
        """Without a profile, the option keeps its own default (none)."""
        assert seen(run, name, name, *args)[option] is None

    def test_flag_before_the_command_beats_profile(self, run, seen, current):
        """A command's flag written before the command, as older scripts do, still beats the profile."""
        values = seen(run, "batch", "--s3_bucket_to_upload_to", "early", "batch")
        assert values["s3_bucket_to_upload_to"] == "early"

    def test_command_use_env_variables_false_drops_profile_defaults(self, run, seen, current):
        """`--use-env-variables False` on the command leaves every option at its own default."""
        values = seen(run, "query", "query", "--use-env-variables", "False")
        assert values["dynamo_db_to_query"] is None

    def test_other_profile_gives_its_values(self, run, seen, current, store):
        """--profile NAME fills the defaults from that profile, not the current one."""
        store.save("other", {"shepard_cli_dynamo_db_to_query": "other-table"})
        assert seen(run, "query", "--profile", "other", "query")["dynamo_db_to_query"] == "other-table"

    def test_endpoint_is_not_an_option_default(self, run, seen, current):
        """The profile's endpoint stays out of the defaults: the global flag and $AWS_ENDPOINT_URL beat it."""
        assert seen(run, "query", "query")["endpoint_url"] is None

    def test_defaults_hold_only_the_commands_options(self):
        """option_defaults keeps the profile values of the named options and drops the rest."""
        assert option_defaults(PROFILE, ["dynamo_db_to_query", "other"]) == {
            "dynamo_db_to_query": "profile-table"
        }


class TestAttributeMap:
    def test_every_mapped_option_exists_on_a_command(self):
        """Each profile attribute that gives an option default names an option some command has."""
        ctx = click.Context(cli)
        options = {
            param.name
            for entry in _registry.COMMANDS
            for param in cli.get_command(ctx, entry.name).params  # type: ignore[union-attr]
        }
        assert set(OPTION_OF_ATTRIBUTE.values()) <= options


class TestNeedsProfile:
    PROFILE_FREE = frozenset(
        {
            "configure",
            "check-profile",
            "set-profile",
            "delete-profile",
            "where-am-i",
            "clear-profile-config",
            "check-role",
            "release-role",
            "check-update",
            "help",
        }
    )

    def test_declared_on_each_command(self):
        """The commands declaring they need no profile are the profile, role, update and help commands."""
        ctx = click.Context(cli)
        free = {
            entry.name
            for entry in _registry.COMMANDS
            if not cli.get_command(ctx, entry.name).needs_profile  # type: ignore[union-attr]
        }
        assert free == self.PROFILE_FREE

    @pytest.mark.parametrize(
        "name", ["where-am-i", "clear-profile-config", "check-role", "release-role", "help"]
    )
    def test_profile_free_command_runs_with_a_broken_current_profile(self, run, home, name):
        """A command declared profile-free runs when the current profile's file is missing."""
        home.mkdir(parents=True)
        (home / "current_profile").write_text("gone\n")
        result = run(name)
        assert result.exit_code == 0, result.output
        assert "there is no profile" not in result.output

    def test_command_needing_a_profile_reports_a_broken_one(self, run, home):
        """A command that needs the profile says the current one is missing."""
        home.mkdir(parents=True)
        (home / "current_profile").write_text("gone\n")
        result = run("query")
        assert result.exit_code == 1
        assert "there is no profile 'gone'" in result.output
