"""Every `shepard` command shown in README.md and docs/*.md runs as written against the local flock.

A command that cannot run there is in ALLOW_LIST with the reason; its `--help` is run instead and
must name every option the docs give it, so a renamed option or command still fails.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flock_testkit import EXAMPLES, ROOT, SETTLED, Flock, shepard_command

if TYPE_CHECKING:
    from collections.abc import Callable

DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^\s*```\s*(?P<lang>\S*)")
SHELL_FENCES = frozenset({"sh", "bash", "shell", "console"})
"""Fences whose lines are commands; a bare fence holds text or a diagram."""
GLOBAL_OPTIONS = frozenset(
    {"--profile", "--endpoint-url", "--endpoint_url", "--use-env-variables", "--use_env_variables"}
)
GROUPS = frozenset({"local"})

# The docs speak of a flock called my-flock and of folders beside the reader. The test gives them
# real counterparts in the folder each command runs in: the profile my-flock is the local flock's
# profile, made current; the folders are the examples'; JOB_UUID is a job that ran.
PROFILE = "my-flock"
JOB_UUID = "JOB_UUID"


def _needs_mfa(argv: list[str]) -> bool:
    return "--mfa-token" in argv or "--mfa_token" in argv


# Commands the local flock cannot run, by command path, with why. Each still has its --help run.
ALLOW_LIST: dict[tuple[str, ...], str] = {
    # Creates (or updates) a CloudFormation stack on AWS from a staging bucket and waits for it;
    # the local flock builds its stack with `shepard local up` instead.
    ("build-flock",): "creates a stack on AWS",
    # Builds the payload image with Docker, nests it into the worker image and pushes to ECR.
    ("deploy",): "builds with Docker and pushes to the flock's ECR repository",
    # Assumes a role with STS using a code from an MFA device.
    ("set-role",): "role assumption with MFA",
    # Prompts on a terminal for every profile attribute.
    ("configure",): "interactive prompts",
    # Asks PyPI for the newest release; this machine has no route to it.
    ("check-update",): "needs PyPI",
    # The session flock is already up (a second one would replace its `local` profile), `down` would
    # stop it under the other tests, and `demo` starts and stops a flock of its own (test_demo.py).
    ("local", "up"): "the session flock is already up",
    # Serves the web app until Ctrl-C; tests-browser drives it in a browser.
    ("ui",): "serves until Ctrl-C",
    ("local", "down"): "would stop the session flock",
    ("local", "demo"): "runs a flock of its own; test_demo.py runs it",
}

# Lines allowed by what they hold rather than by their command: any command assuming a role with MFA.
ALLOW_IF: tuple[tuple[Callable[[list[str]], bool], str], ...] = ((_needs_mfa, "role assumption with MFA"),)

# `shepard watch` without --once redraws until Ctrl-C: it runs here with --once added.
ONE_SHOT: dict[tuple[str, ...], str] = {("watch",): "--once"}


@dataclasses.dataclass(frozen=True)
class DocCommand:
    """One `shepard ...` command of a fenced block of the docs, with where it is written."""

    source: str
    text: str

    @property
    def argv(self) -> list[str]:
        """Return the command's words as a shell would split them, comments dropped."""
        return shlex.split(self.text, comments=True)

    @property
    def path(self) -> tuple[str, ...]:
        """Return the command's name (and a group's subcommand), skipping global options."""
        words = self.argv[1:]
        index = 0
        while index < len(words) and words[index].split("=")[0] in GLOBAL_OPTIONS:
            index += 1 if "=" in words[index] else 2
        name = tuple(words[index : index + 1])
        if name and name[0] in GROUPS:
            name = tuple(words[index : index + 2])
        return name

    @property
    def options(self) -> list[str]:
        """Return the long options the command is given after its name."""
        words = self.argv[1:]
        start = words.index(self.path[-1]) + 1 if self.path else 0
        return [word.split("=")[0] for word in words[start:] if word.startswith("--")]

    def allowed_because(self) -> str | None:
        """Return why this command cannot run against the local flock, or None when it can."""
        for applies, reason in ALLOW_IF:
            if applies(self.argv):
                return reason
        return ALLOW_LIST.get(self.path)


def doc_commands(files: tuple[Path, ...] = DOC_FILES, root: Path = ROOT) -> list[DocCommand]:
    """Return each `shepard ...` line of the shell-fenced blocks of `files`, continued lines joined."""
    found: list[DocCommand] = []
    for path in files:
        in_fence = in_shell = False
        pending: tuple[int, str] | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if fence := FENCE.match(line):
                in_fence, pending = not in_fence, None
                in_shell = in_fence and fence["lang"] in SHELL_FENCES
                continue
            if not in_shell:
                continue
            stripped = line.strip()
            if pending is not None:
                start, text = pending
                text = f"{text} {stripped.removesuffix(chr(92)).strip()}"
                pending = (start, text) if stripped.endswith("\\") else None
                if pending is None:
                    found.append(DocCommand(f"{path.relative_to(root)}:{start}", text))
            elif stripped.startswith("shepard "):
                if stripped.endswith("\\"):
                    pending = (number, stripped.removesuffix("\\").strip())
                else:
                    found.append(DocCommand(f"{path.relative_to(root)}:{number}", stripped))
    return found


COMMANDS = doc_commands()


def run_shepard(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `shepard ARGS` in the folder `work` with `env` and return the finished process."""
    return subprocess.run(  # noqa: S603 - an argument list, no shell
        [*shepard_command(), *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def settled_job(flock: Flock) -> str:
    """Return the UUID of a job of the quick-deploy example that has ended."""
    key = "docs/settled.zip"
    flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "docs", "TAG": "docs"})
    row = flock.wait_for(
        lambda: next((r for r in flock.rows_for({key}).values() if r["JOB_STATUS"] in SETTLED), None),
        timeout=90,
        what="the docs' job to settle",
    )
    return str(row["UUID"])


@pytest.fixture
def reader_folder(tmp_path: Path, flock: Flock) -> tuple[Path, dict[str, str]]:
    """Return a folder laid out as the docs' reader has it, and the environment pointing at the flock."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(EXAMPLES, work / "examples")
    shutil.copytree(EXAMPLES / "hello-quick-deploy" / "job", work / "my-job")
    shutil.copytree(EXAMPLES / "hello-quick-deploy" / "hello", work / "my-run-sh")
    shutil.copytree(EXAMPLES / "hello-container" / "payload", work / "my-code")
    (work / "secrets").mkdir()
    (work / "secrets" / "token.txt").write_text("docs-token\n", encoding="utf-8")
    (work / "samples.tsv").write_text("NAME\tTAG\nada\tdocs-a\nbob\tdocs-b\n", encoding="utf-8")
    # Each command gets its own copy of the profiles, so one that changes them (set-profile,
    # clear-profile-config) leaves the others as the docs assume: my-flock current.
    home = tmp_path / "cli"
    shutil.copytree(Path(flock.env["SHEPARD_CLI_HOME"]), home)
    shutil.copyfile(home / "local.json", home / f"{PROFILE}.json")
    (home / "current_profile").write_text(PROFILE + "\n", encoding="utf-8")
    return work, {**flock.env, "SHEPARD_CLI_HOME": str(home)}


class TestExtraction:
    def test_the_readme_path_to_results_is_extracted(self):
        """The README's steps (create, deploy, batch, watch, retrieve) are among the commands found."""
        readme = {c.path for c in COMMANDS if c.source.startswith("README.md:")}
        assert {("build-flock",), ("deploy",), ("batch",), ("watch",), ("retrieve",)} <= readme

    def test_continued_lines_are_one_command_and_comments_are_dropped(self, tmp_path: Path):
        """A line ending in a backslash continues the command; a trailing # comment is not a word."""
        page = tmp_path / "page.md"
        page.write_text(
            "```sh\nshepard --profile p batch --a 1 \\\n  --b 2   # note\nnot shepard\n```\n"
            "shepard outside a fence\n",
            encoding="utf-8",
        )
        (found,) = doc_commands((page,), root=tmp_path)
        assert found.source == "page.md:2"
        assert found.argv == ["shepard", "--profile", "p", "batch", "--a", "1", "--b", "2"]
        assert found.path == ("batch",)
        assert found.options == ["--a", "--b"]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.source for c in COMMANDS])
def test_documented_command_works(
    command: DocCommand, flock: Flock, settled_job: str, reader_folder: tuple[Path, dict[str, str]]
):
    """The documented command exits 0 against the local flock, or its --help names every option given."""
    work, env = reader_folder
    reason = command.allowed_because()
    if reason is not None:
        # GIVEN a command the local flock cannot run WHEN its help is shown
        # THEN the command exists and takes every option the docs give it
        done = run_shepard(work, env, *command.path, "--help")
        assert done.returncode == 0, f"{command.source}: {command.path} --help\n{done.stdout}\n{done.stderr}"
        for option in command.options:
            assert option in done.stdout, f"{command.source}: {command.path} has no {option} ({reason})"
        return
    # GIVEN the reader's folder and the my-flock profile WHEN the command runs as written
    argv = [settled_job if word == JOB_UUID else word for word in command.argv[1:]]
    extra = ONE_SHOT.get(command.path)
    if extra is not None and extra not in argv:
        argv.append(extra)
    done = run_shepard(work, env, *argv)
    # THEN it succeeds (and a JSON output is JSON)
    assert done.returncode == 0, f"{command.source}: {command.text}\n{done.stdout}\n{done.stderr}"
    if "--output" in argv and argv[argv.index("--output") + 1] == "json":
        json.loads(done.stdout)
