"""`shepard ui`: the command prints its URL with the token, serves it, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from click.testing import CliRunner
from shepard_cli import cli


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _status(url: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_command_serves_its_url_and_stops_cleanly_on_ctrl_c(flock, tmp_path):
    """The printed URL's token opens the app, a request without it is refused, Ctrl-C ends with exit 0."""
    env = {**os.environ, "SHEPARD_CLI_HOME": str(tmp_path / "cli")}
    command = [sys.executable, "-m", "shepard_cli", "--endpoint-url", flock.endpoint, "ui",
               "--dynamo-db-to-query", flock.table]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        first = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", first)
        assert found, first + server.stderr.read()
        url = found.group(0)
        assert _status(url) == 303
        assert _status(url.split("?")[0]) == 403
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "Traceback" not in err
    assert "Stopped." in out


def test_without_the_package_the_command_says_how_to_install_it(monkeypatch, tmp_path):
    """`shepard ui` with shepard-ui missing fails in one line naming the package to install."""
    import shepard_cli.commands.ui as command

    monkeypatch.setenv("SHEPARD_CLI_HOME", str(tmp_path))
    monkeypatch.setattr(command, "_ui_available", lambda: False)
    result = CliRunner().invoke(cli, ["ui", "--dynamo-db-to-query", "t"])
    assert result.exit_code == 1
    assert "pip install shepard-ui" in result.output
    assert "Traceback" not in result.output


def test_help_lists_the_command_and_its_options(tmp_path, monkeypatch):
    """`shepard --help` lists ui; `shepard ui --help` shows --port, --open and the profile options."""
    monkeypatch.setenv("SHEPARD_CLI_HOME", str(tmp_path))
    assert "ui " in CliRunner().invoke(cli, ["--help"]).output
    shown = CliRunner().invoke(cli, ["ui", "--help"]).output
    for option in ("--port", "--open", "--dynamo-db-to-query", "--endpoint-url", "--role-to-assume"):
        assert option in shown
