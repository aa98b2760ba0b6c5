"""The `shepard local` group: every command's help, and the Docker engine it adopts."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from shepard_cli import engine as _engine
from shepard_cli.engine import adopt_local_engine
from shepard_local import local

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class TestLocalHelp:
    @pytest.mark.parametrize("name", sorted(local.commands))
    def test_every_local_command_shows_an_example(self, name):
        """Each `shepard local` command's --help shows an example, with click's markup not leaking."""
        result = CliRunner().invoke(local, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output
        assert "  shepard local " in result.output.split("Example:")[1]
        assert "\\b" not in result.output


class TestLocalEngine:
    @pytest.fixture
    def engine_socket(self, tmp_path: Path) -> Iterator[Path]:
        """A listening unix socket where scripts/docker-engine.sh would put its engine's."""
        path = tmp_path / "docker.sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            yield path

    def test_unset_docker_host_finds_the_script_engine(self, tmp_path: Path, engine_socket: Path):
        """With DOCKER_HOST unset and no default socket, the script's engine socket becomes DOCKER_HOST."""
        environ: dict[str, str] = {}
        found = adopt_local_engine(environ, default_socket=tmp_path / "none.sock", local_socket=engine_socket)
        assert found == environ["DOCKER_HOST"] == f"unix://{engine_socket}"

    def test_a_set_docker_host_or_a_default_socket_wins(self, tmp_path: Path, engine_socket: Path):
        """DOCKER_HOST, even naming a missing socket, and an existing default socket are left to docker."""
        environ = {"DOCKER_HOST": "unix:///nowhere.sock"}
        assert (
            adopt_local_engine(environ, default_socket=tmp_path / "none.sock", local_socket=engine_socket)
            is None
        )
        assert environ == {"DOCKER_HOST": "unix:///nowhere.sock"}
        environ = {}
        assert adopt_local_engine(environ, default_socket=engine_socket, local_socket=engine_socket) is None
        assert environ == {}

    def test_no_engine_anywhere_leaves_docker_host_unset(self, tmp_path: Path):
        """Without the script's socket DOCKER_HOST stays unset, so the process runtime is chosen."""
        environ: dict[str, str] = {}
        found = adopt_local_engine(
            environ, default_socket=tmp_path / "none.sock", local_socket=tmp_path / "docker.sock"
        )
        assert found is None
        assert environ == {}

    def test_every_local_command_adopts_the_engine(
        self, tmp_path: Path, engine_socket: Path, monkeypatch: pytest.MonkeyPatch
    ):
        """`shepard local status` (like every local command) runs with the script's engine as DOCKER_HOST."""
        monkeypatch.delenv("DOCKER_HOST", raising=False)
        monkeypatch.setattr(_engine, "DEFAULT_SOCKET", tmp_path / "none.sock")
        monkeypatch.setattr(_engine, "LOCAL_ENGINE_SOCKET", engine_socket)
        CliRunner().invoke(local, ["status", "--dir", str(tmp_path / "flock")])
        assert os.environ["DOCKER_HOST"] == f"unix://{engine_socket}"


class TestStatus:
    def test_status_without_a_flock_says_how_to_start_one(self, tmp_path: Path):
        """`shepard local status` on an empty directory exits 1 and names `shepard local up`."""
        result = CliRunner().invoke(local, ["status", "--dir", str(tmp_path)])
        assert result.exit_code == 1
        assert "shepard local up" in result.output
