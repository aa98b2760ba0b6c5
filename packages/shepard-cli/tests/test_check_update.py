"""check-update: comparing the installed version with the newest published one."""

import http.server
import json
import threading

import pytest
from shepard_cli import _update


class _Index(http.server.BaseHTTPRequestHandler):
    version = "0.1.0"

    def do_GET(self):
        body = json.dumps({"info": {"version": self.version}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TestCheckUpdate:
    @pytest.fixture
    def index(self, monkeypatch):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv(_update.INDEX_URL_VARIABLE, f"http://127.0.0.1:{server.server_address[1]}/json")
        yield
        server.shutdown()
        server.server_close()

    def test_up_to_date(self, run, index, monkeypatch):
        """The same version as published is reported as up to date."""
        monkeypatch.setattr(_Index, "version", _update.installed_version())
        assert "is up to date" in run("check_update").output

    def test_newer_release(self, run, index, monkeypatch):
        """A newer published version is reported with the upgrade command."""
        monkeypatch.setattr(_Index, "version", "999.0")
        result = run("check-update")
        assert "shepard-cli 999.0 is out" in result.output
        assert "pip install --upgrade shepard-cli" in result.output

    def test_offline_is_a_plain_message(self, run, monkeypatch):
        """Without a connection, check-update says so in one line."""
        monkeypatch.setenv(_update.INDEX_URL_VARIABLE, "http://127.0.0.1:9/json")
        result = run("check-update")
        assert result.exit_code == 1
        assert "could not reach PyPI" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize(
        ("candidate", "current", "newer"),
        [("0.2.0", "0.1.9", True), ("0.10", "0.9", True), ("1.0", "1.0.0", False), ("1.0rc1", "1.0", False)],
    )
    def test_version_order(self, candidate, current, newer):
        """Versions compare by number, and pre-releases before their release."""
        assert _update.is_newer(candidate, current) is newer
