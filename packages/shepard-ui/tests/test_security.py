"""The door: Host check, URL token and cookie, CSRF and cross-site checks, escaping, no credentials."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shepard_core import JobStatus
from shepard_ui import bind
from shepard_ui._security import cookie_name
from starlette.testclient import TestClient
from ui_testkit import ORIGIN, PORT, job_row

SCRIPT = "<script>alert(1)</script>"


class TestToken:
    @pytest.mark.parametrize("path", ["/", "/jobs", "/batch", "/results", "/api/overview", "/static/app.js"])
    def test_a_request_without_the_token_is_refused(self, anonymous, path):
        """Every path, page, JSON or asset, answers 403 without the token."""
        answer = anonymous.get(path)
        assert answer.status_code == 403
        assert "token" in answer.text

    def test_a_wrong_token_is_refused_in_the_url_and_in_the_cookie(self, anonymous, secrets):
        """A token that is not this server's opens nothing, whether in the query or the cookie."""
        assert anonymous.get("/?token=not-the-token").status_code == 403
        anonymous.cookies.set(cookie_name(PORT), secrets.csrf)
        assert anonymous.get("/").status_code == 403

    def test_the_token_sets_an_httponly_strict_cookie_and_leaves_the_url(self, anonymous, secrets):
        """The first visit with the token sets the cookie and reloads the page without the token."""
        answer = anonymous.get(f"/jobs?status=failed&token={secrets.token}")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/jobs?status=failed"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{cookie_name(PORT)}={secrets.token}")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert anonymous.get("/jobs?status=failed").status_code == 200

    def test_the_server_binds_loopback_only(self):
        """The listening socket is on 127.0.0.1, on a free port when none is asked for."""
        listener = bind(0)
        try:
            host, port = listener.getsockname()
            assert host == "127.0.0.1"
            assert port > 0
        finally:
            listener.close()


class TestHost:
    @pytest.mark.parametrize(
        "host",
        ["evil.example", f"evil.example:{PORT}", "127.0.0.1", f"127.0.0.1:{PORT + 1}", f"0.0.0.0:{PORT}"],
    )
    def test_a_foreign_host_header_is_refused_even_with_the_token(self, app, secrets, host):
        """DNS rebinding: a page whose name resolves to 127.0.0.1 still sends its own name: 400."""
        with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
            answer = client.get(f"/?token={secrets.token}", headers={"host": host})
        assert answer.status_code == 400

    @pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"LOCALHOST:{PORT}"])
    def test_the_loopback_names_are_accepted(self, browser, host):
        """127.0.0.1:<port> and localhost:<port> are this server."""
        assert browser.get("/batch", headers={"host": host}).status_code == 200


class TestCrossSite:
    def test_a_post_without_the_csrf_token_is_refused(self, browser, flock):
        """The token cookie alone cannot change anything: the page's CSRF header is needed too."""
        del browser.headers["X-CSRF-Token"]
        answer = browser.post("/api/batch", files={"file": ("job/inputs.txt", b"{}")})
        assert answer.status_code == 403
        assert flock.keys(flock.inputs_bucket) == []

    def test_a_wrong_csrf_token_is_refused(self, browser, flock, secrets):
        """A CSRF token that is not this server's is refused."""
        answer = browser.post("/api/jobs/x/cancel", headers={"X-CSRF-Token": secrets.token})
        assert answer.status_code == 403

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "http://evil.example"},
            {"Origin": f"http://127.0.0.1:{PORT + 1}"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ],
    )
    def test_a_cross_site_post_is_refused_even_with_the_tokens(self, browser, flock, headers):
        """Origin or Sec-Fetch-Site naming another site refuses the request, whatever it carries."""
        answer = browser.post("/api/batch", files={"file": ("job/inputs.txt", b"{}")}, headers=headers)
        assert answer.status_code == 403
        assert flock.keys(flock.inputs_bucket) == []

    def test_a_same_origin_post_with_the_csrf_token_goes_through(self, browser, flock):
        """The app's own page (same origin, CSRF header) may batch."""
        answer = browser.post(
            "/api/batch",
            files={"file": ("job/inputs.txt", b"{}")},
            headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"},
        )
        assert answer.status_code == 200, answer.text
        assert len(flock.keys(flock.inputs_bucket)) == 1


class TestEscaping:
    def test_a_script_in_inputs_shows_as_text_on_every_page(self, browser, flock):
        """A job whose inputs, zip name and reason hold <script> shows as text on the Job and Jobs pages."""
        row = job_row(
            1,
            JobStatus.JOB_FAILED,
            inputs={"NAME": SCRIPT, "TAG": SCRIPT},
            input_zip_name=f"{SCRIPT}.zip",
            failure_reason=SCRIPT,
        )
        flock.write(row)
        pages = [f"/jobs/{row.uuid}", "/jobs", "/jobs?status=failed", "/", f"/jobs?tag={SCRIPT}"]
        for page in pages:
            html = browser.get(page).text
            assert SCRIPT not in html, page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, page

    def test_the_script_never_fills_html_from_data(self):
        """The page script puts data into the page as text only: no innerHTML, outerHTML or document.write."""
        script = (Path(__file__).parents[1] / "src" / "shepard_ui" / "static" / "app.js").read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script

    def test_pages_forbid_inline_and_foreign_scripts(self, browser):
        """Every answer carries a Content-Security-Policy allowing this server's own scripts only."""
        answer = browser.get("/batch")
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"


class TestCredentials:
    def test_no_credential_or_signed_url_reaches_the_browser(self, browser, flock, monkeypatch):
        """Pages hold no access key, secret or signature: downloads stream through the server."""
        row = job_row(2, inputs={"N": "2"})
        flock.write(row)
        key = f"result@{row.uuid}_{row.start_time}_root.zip"
        flock.put(flock.outputs_bucket, key, b"the output zip")
        html = browser.get(f"/jobs/{row.uuid}").text
        for secret in (
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
            "X-Amz-",
            "Signature=",
        ):
            assert secret not in html
        downloaded = browser.get(f"/download/outputs/{key}")
        assert downloaded.status_code == 200
        assert downloaded.content == b"the output zip"
        assert "attachment" in downloaded.headers["content-disposition"]
