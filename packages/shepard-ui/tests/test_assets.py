"""Every file the browser loads ships inside the package: no CDN, no build step."""

from __future__ import annotations

import importlib.resources
import re

PAGES = ("base.html", "overview.html", "jobs.html", "job.html", "new_batch.html", "results.html")


def test_the_installed_package_holds_its_script_stylesheet_and_templates():
    """The installed package (in nox, its wheel) holds app.js, app.css and every template."""
    root = importlib.resources.files("shepard_ui")
    for name in ("static/app.js", "static/app.css", *(f"templates/{page}" for page in PAGES)):
        assert root.joinpath(name).is_file(), name


def test_pages_load_nothing_from_elsewhere(browser):
    """Every page names only this server's own script and stylesheet: no other host in src or href."""
    for path in ("/batch", "/results", "/jobs"):
        html = browser.get(path).text
        assert re.findall(r'<script src="([^"]+)"', html) == ["/static/app.js"]
        assert not re.search(r'(src|href)="(https?:)?//', html)
    assert browser.get("/static/app.js").status_code == 200
    assert browser.get("/static/app.css").status_code == 200
