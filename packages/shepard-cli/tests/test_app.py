import importlib.machinery
import shlex
import sys
import types

import click
import pytest
from click.testing import CliRunner
from shepard_cli import _app, cli

ORIGINAL_COMMANDS = [
    "deploy",
    "batch",
    "batch_via_api",
    "query",
    "describe",
    "secretify",
    "check_update",
    "configure",
    "check_profile",
    "set_profile",
    "delete_profile",
    "where_am_i",
    "clear_profile_config",
    "set_role",
    "release_role",
    "check_role",
    "retrieve",
]
NEW_COMMANDS = ["status", "logs", "cancel", "help"]


def _own_commands():
    ctx = click.Context(cli)
    return [name for name in cli.list_commands(ctx) if name != "local"]


AWS_COMMANDS = [
    (["batch", "{job}", "--s3-bucket-to-upload-to", "no-such-bucket"], "PutObject"),
    (
        [
            "retrieve",
            "--s3-bucket-for-results",
            "no-such-bucket",
            "--directory-to-sync-s3-bucket-to",
            "{out}",
        ],
        "ListObjectsV2",
    ),
    (["query", "--dynamo-db-to-query", "no-such-table"], "Scan"),
    (["status", "3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10", "--dynamo-db-to-query", "no-such-table"], "GetItem"),
    (["logs", "3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10", "--dynamo-db-to-query", "no-such-table"], "GetItem"),
    (["cancel", "3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10", "--dynamo-db-to-query", "no-such-table"], "GetItem"),
    (["describe", "--cloudformation-to-describe", "no-such-stack"], "DescribeStacks"),
    (["batch-via-api", "--lambda-to-invoke", "no-such-function", "--json-payload", "{{}}"], "Invoke"),
    (
        ["deploy", "--path-to-docker-folder", "{code}", "--ecr-repo-to-push-to", "no-such-repo"],
        "DescribeRepositories",
    ),
]
"""Each AWS command with resource names that do not exist, and the AWS operation that refuses them."""

OTHER_AWS_COMMANDS = [
    (
        ["secretify", "--path-to-local-secrets", "{secrets}", "--secret-store", "no-such-secret"],
        "PutSecretValue",
    ),
    (["set-role", "--role-to-assume-to-target-account", "arn:aws:iam::123456789012:role/R"], "AssumeRole"),
]
"""AWS commands that explain a missing resource in their own words, and the operation they call."""


def _folders(tmp_path):
    """Make a job folder and a code folder; return the paths the AWS_COMMANDS arguments name."""
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "inputs.txt").write_text("{}")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("t")
    return {name: tmp_path / name for name in ("job", "out", "code", "secrets")}


def _examples(help_text: str) -> list[str]:
    """Return the `shepard ...` lines after "Example:", a trailing backslash joining the next line."""
    lines = help_text.split("Example:", 1)[1].splitlines()
    examples: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            if pending:
                break
            continue
        if not pending and not line.startswith("shepard "):
            break
        pending = f"{pending} {line}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
        else:
            examples.append(pending)
            pending = ""
    return examples


class TestCommandNames:
    def test_every_original_command_exists_hyphenated(self):
        """Each command of the original Shepard CLI (ginkgobioworks/shepard) exists, hyphenated."""
        names = _own_commands()
        for original in ORIGINAL_COMMANDS:
            assert original.replace("_", "-") in names

    @pytest.mark.parametrize("name", ORIGINAL_COMMANDS)
    def test_underscore_alias_runs_the_command(self, run, name):
        """The original Shepard CLI's underscore spelling of a command runs the same command."""
        alias = run(name, "--help")
        canonical = run(name.replace("_", "-"), "--help")
        assert alias.exit_code == 0
        assert alias.output.split("\n", 1)[1] == canonical.output.split("\n", 1)[1]

    def test_help_lists_only_hyphenated_names(self, run):
        """The group's help lists hyphenated names, not the aliases."""
        result = run("--help")
        assert "batch-via-api" in result.output
        assert "batch_via_api" not in result.output.split("Commands:")[1]

    def test_update_is_an_alias_of_check_update(self, run):
        """The original Shepard CLI's `update` command name reaches check-update."""
        result = run("update", "--help")
        assert "newer shepard-cli" in result.output

    def test_unknown_command_is_refused(self, run):
        """An unknown command ends with click's usage error."""
        result = run("no-such-command")
        assert result.exit_code == 2
        assert "No such command" in result.output


class TestHelpExamples:
    @pytest.mark.parametrize("name", [*ORIGINAL_COMMANDS, *NEW_COMMANDS])
    def test_help_has_an_example(self, run, name):
        """Every command's --help shows an example invocation."""
        result = run(name, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output
        assert "  shepard " in result.output.split("Example:")[1]

    @pytest.mark.parametrize("name", _own_commands())
    def test_every_example_parses(self, run, name):
        """Every example in a command's --help is accepted by that command's options and arguments."""
        help_text = run(name, "--help").output
        examples = _examples(help_text)
        assert examples
        for example in examples:
            # WHEN the example's words are parsed as shepard's command line
            command_name, *rest = shlex.split(example)[1:]
            group_ctx = click.Context(cli, info_name="shepard")
            command = cli.get_command(group_ctx, command_name)
            # THEN its command exists and takes every option and argument it shows
            assert command is not None, example
            assert command_name in {name, name.replace("_", "-")}, example
            command.make_context(command_name, rest, parent=group_ctx).close()

    def test_group_help_has_an_example(self, run):
        """The group's --help shows examples too."""
        assert "Example:" in run("--help").output


class TestLocalHook:
    def test_local_group_is_registered_when_importable(self, monkeypatch, run):
        """A `shepard_local` module exposing a click object `local` becomes `shepard local`."""
        # GIVEN an importable local extra
        module = types.ModuleType(_app.LOCAL_MODULE)
        module.__spec__ = importlib.machinery.ModuleSpec(_app.LOCAL_MODULE, None)

        @click.group(name="local")
        def local() -> None:
            """Local flock."""

        @local.command()
        def up() -> None:
            click.echo("flock up")

        module.local = local  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, _app.LOCAL_MODULE, module)
        # WHEN listing and running it THEN it is there and runs
        assert "local" in cli.list_commands(click.Context(cli))
        assert run("local", "up").output == "flock up\n"

    def test_local_without_its_dependencies_says_how_to_install_them(self, monkeypatch, run):
        """When the local subpackage cannot import its dependencies, `shepard local` says how to add them."""
        monkeypatch.setattr(_app, "_local_available", lambda: True)

        def broken(name):
            raise ModuleNotFoundError(f"No module named {name!r}", name="yaml")

        monkeypatch.setattr(_app.importlib, "import_module", broken)
        assert run("--help").exit_code == 0
        result = run("local", "up")
        assert result.exit_code == 1
        assert "pip install shepard-local" in result.output
        assert "(yaml)" in result.output

    def test_no_local_command_without_the_extra(self, monkeypatch):
        """Without shepard-local, `shepard local` is not listed and says in one line how to install it."""
        monkeypatch.setattr(_app, "LOCAL_MODULE", "shepard_cli.no_such_extra")
        assert "local" not in cli.list_commands(click.Context(cli))
        result = CliRunner().invoke(cli, ["local", "up"])
        assert result.exit_code == 1
        assert "(shepard-local)" in result.output
        assert result.output.strip().count("\n") == 0
        assert "pip install shepard-local" in result.output


class TestErrors:
    def test_unreachable_endpoint_is_one_line(self, run, tmp_path):
        """An unreachable AWS endpoint ends in one line naming the cause, without a traceback."""
        result = run("--endpoint-url", "http://127.0.0.1:9", "query", "--dynamo-db-to-query", "t")
        assert result.exit_code == 1
        assert "Cannot reach AWS" in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1

    def test_aws_refusal_is_one_line(self, run, aws_endpoint):
        """A ClientError from AWS ends in one line with the operation, code and advice."""
        result = run("--endpoint-url", aws_endpoint, "query", "--dynamo-db-to-query", "missing-table")
        assert result.exit_code == 1
        assert result.output.startswith("Error: AWS refused Scan: ResourceNotFoundException")
        assert "check-profile" in result.output
        assert len(result.output.strip().splitlines()) == 1

    @pytest.mark.parametrize(("args", "operation"), AWS_COMMANDS)
    def test_wrong_resource_name_is_one_line(self, run, aws_endpoint, tmp_path, args, operation):
        """A bucket, table, stack, function or repository that does not exist ends in one AWS line."""
        # GIVEN a job folder, a code folder and an empty flock on moto server
        paths = _folders(tmp_path)
        # WHEN a command names a resource that is not there
        result = run("--endpoint-url", aws_endpoint, *(arg.format(**paths) for arg in args))
        # THEN it fails with one line naming the refused operation
        assert result.exit_code == 1
        assert f"Error: AWS refused {operation}:" in result.output
        assert "Traceback" not in result.output
        assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1

    @pytest.mark.parametrize(("args", "operation"), AWS_COMMANDS + OTHER_AWS_COMMANDS)
    def test_every_command_says_when_aws_cannot_be_reached(self, run, tmp_path, args, operation):
        """Every AWS command against an endpoint nothing listens on ends in one line saying so."""
        paths = _folders(tmp_path)
        result = run("--endpoint-url", "http://127.0.0.1:9", *(arg.format(**paths) for arg in args))
        assert result.exit_code == 1, operation
        assert "Error: Cannot reach AWS" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize(("args", "operation"), AWS_COMMANDS + OTHER_AWS_COMMANDS)
    def test_every_command_says_when_credentials_are_missing(
        self, run, monkeypatch, tmp_path, args, operation
    ):
        """Every AWS command without any AWS credentials ends in one line telling how to configure them."""
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        paths = _folders(tmp_path)
        result = run("--endpoint-url", "https://aws.example.invalid", *(arg.format(**paths) for arg in args))
        assert result.exit_code == 1, operation
        assert "Error: No AWS credentials found" in result.output
        assert "Traceback" not in result.output

    def test_missing_credentials_are_one_line(self, run, monkeypatch, tmp_path):
        """Missing AWS credentials end in one line telling how to configure them."""
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        result = run("--endpoint-url", "https://aws.example.invalid", "query", "--dynamo-db-to-query", "t")
        assert result.exit_code == 1
        assert "No AWS credentials found" in result.output

    def test_missing_value_names_option_and_attribute(self, run):
        """A value given by neither flag nor profile is asked for by option and profile attribute."""
        result = run("query")
        assert result.exit_code == 1
        assert "--dynamo-db-to-query" in result.output
        assert "shepard_cli_dynamo_db_to_query" in result.output

    def test_unwritable_profile_folder_is_one_line(self, run, home):
        """A profile folder that cannot be written ends in one line naming the path."""
        home.parent.mkdir(parents=True, exist_ok=True)
        home.write_text("a file where the folder should be")
        result = run("configure", "flock", input="\n" * 20)
        assert result.exit_code == 1
        assert f"Cannot use {home}" in result.output
        assert "Traceback" not in result.output

    def test_unknown_profile_is_one_line(self, run):
        """Asking for a profile that does not exist names the known ones and how to make one."""
        result = run("--profile", "nope", "where-am-i")
        assert result.exit_code == 1
        assert "there is no profile 'nope'" in result.output
