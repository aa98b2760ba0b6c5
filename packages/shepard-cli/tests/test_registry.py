"""The command registry: one list, loaded lazily, that `shepard --help` reads without importing commands."""

import json
import subprocess
import sys

import click
import pytest
from shepard_cli import _registry, cli
from shepard_cli._command import ShepardCommand

HEAVY_MODULES = [
    "boto3",
    "botocore",
    "rich",
    "docker",
    "concurrent.futures",
    "importlib.metadata",
    "tempfile",
    "logging",
    "shepard_core",
    "shepard_cli._batch",
    "shepard_cli._aws",
]
"""Modules `shepard --help` has no use for: importing any of them slows every start."""


def _modules_after(*args: str) -> set[str]:
    """Run `shepard ARGS` in a fresh interpreter and return the names of the modules it imported."""
    script = (
        "import json, sys\n"
        "from shepard_cli import cli\n"
        f"try:\n    cli({list(args)!r}, prog_name='shepard')\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a script written here
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stderr))


class TestRegistry:
    def test_group_lists_every_registered_command(self):
        """The group lists exactly the registry's commands (and `local` when it is installed)."""
        names = [name for name in cli.list_commands(click.Context(cli)) if name != _registry.LOCAL]
        assert names == sorted(entry.name for entry in _registry.COMMANDS)

    @pytest.mark.parametrize("entry", _registry.COMMANDS, ids=lambda entry: entry.name)
    def test_entry_loads_its_command_with_the_same_short_help(self, entry):
        """Each entry's target is a shepard command of that name whose short help is the entry's summary."""
        command = cli.get_command(click.Context(cli), entry.name)
        assert isinstance(command, ShepardCommand)
        assert command.name == entry.name
        assert command.get_short_help_str(1000) == entry.summary

    def test_help_lists_each_command_with_its_summary(self, run):
        """`shepard --help` shows every command with the start of its summary."""
        listing = run("--help").output.split("Commands:", 1)[1]
        for entry in _registry.COMMANDS:
            line = next(line for line in listing.splitlines() if line.split()[:1] == [entry.name])
            assert entry.summary.startswith(line.split(None, 1)[1].removesuffix("..."))


class TestLazyImports:
    def test_help_imports_no_command_module_and_nothing_heavy(self):
        """`shepard --help` imports no command module and none of the heavy libraries."""
        loaded = _modules_after("--help")
        assert "shepard_cli._app" in loaded
        assert not {name for name in loaded if name.startswith("shepard_cli.commands.")}
        assert not {name for name in loaded if name.split(".")[0] in HEAVY_MODULES or name in HEAVY_MODULES}

    def test_a_command_imports_only_its_own_group(self, tmp_path, monkeypatch):
        """Running a profile command imports its group's module and no other command module."""
        monkeypatch.setenv("SHEPARD_CLI_HOME", str(tmp_path))
        loaded = _modules_after("where-am-i")
        commands = {name for name in loaded if name.startswith("shepard_cli.commands.")}
        assert commands == {"shepard_cli.commands.profiles"}

    def test_a_commands_help_imports_its_group_only(self, tmp_path, monkeypatch):
        """`shepard deploy --help` imports the deploy module, not the job commands."""
        monkeypatch.setenv("SHEPARD_CLI_HOME", str(tmp_path))
        loaded = _modules_after("deploy", "--help")
        assert "shepard_cli.commands.deploy" in loaded
        assert "shepard_cli.commands.jobs" not in loaded
        assert "docker" not in loaded
