"""The plugin skips tests that need Docker when there is none, and fails them when CI demands an engine."""

from __future__ import annotations

import pytest

TEST_NEEDING_DOCKER = """
import pytest

@pytest.mark.requires_docker
def test_needs_docker():
    pass
"""


@pytest.fixture
def no_engine(monkeypatch):
    """Point the Docker SDK at a socket that does not exist."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


class TestRequiresDocker:
    def test_skipped_without_an_engine(self, pytester, no_engine, monkeypatch):
        """Without an engine a `requires_docker` test is skipped."""
        monkeypatch.delenv("SHEPARD_REQUIRE_DOCKER", raising=False)
        pytester.makepyfile(TEST_NEEDING_DOCKER)
        pytester.runpytest_subprocess().assert_outcomes(skipped=1)

    def test_failed_when_an_engine_is_required(self, pytester, no_engine, monkeypatch):
        """With SHEPARD_REQUIRE_DOCKER=1 and no engine a `requires_docker` test fails, naming the variable."""
        monkeypatch.setenv("SHEPARD_REQUIRE_DOCKER", "1")
        pytester.makepyfile(TEST_NEEDING_DOCKER)
        result = pytester.runpytest_subprocess()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*SHEPARD_REQUIRE_DOCKER=1 but *"])

    def test_marker_is_declared(self, pytester):
        """The marker is known under --strict-markers in a project that does not declare it."""
        pytester.makepyfile(TEST_NEEDING_DOCKER)
        result = pytester.runpytest_subprocess("--strict-markers", "--collect-only")
        result.assert_outcomes()
        assert result.ret == 0


TEST_NEEDING_A_BROWSER = """
import pytest

@pytest.mark.requires_browser
def test_needs_a_browser():
    pass
"""


@pytest.fixture
def no_browser(monkeypatch, tmp_path):
    """Leave PATH with neither chromium nor chromedriver on it."""
    monkeypatch.setenv("PATH", str(tmp_path))


class TestRequiresBrowser:
    def test_skipped_without_a_browser(self, pytester, no_browser, monkeypatch):
        """Without chromium and chromedriver a `requires_browser` test is skipped, saying what is missing."""
        monkeypatch.delenv("SHEPARD_REQUIRE_BROWSER", raising=False)
        pytester.makepyfile(TEST_NEEDING_A_BROWSER)
        result = pytester.runpytest_subprocess("-rs")
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*no chromium on PATH*"])

    def test_failed_when_a_browser_is_required(self, pytester, no_browser, monkeypatch):
        """With SHEPARD_REQUIRE_BROWSER=1 and no browser a `requires_browser` test fails, naming it."""
        monkeypatch.setenv("SHEPARD_REQUIRE_BROWSER", "1")
        pytester.makepyfile(TEST_NEEDING_A_BROWSER)
        result = pytester.runpytest_subprocess()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*SHEPARD_REQUIRE_BROWSER=1 but no chromium*"])

    def test_marker_is_declared(self, pytester):
        """The marker is known under --strict-markers in a project that does not declare it."""
        pytester.makepyfile(TEST_NEEDING_A_BROWSER)
        result = pytester.runpytest_subprocess("--strict-markers", "--collect-only")
        assert result.ret == 0
