"""The build step: collect package sources, render a self-contained index.py, inline it in the template."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from shepard_flock import (
    LAMBDA_PYTHON,
    LAMBDA_RUNTIME,
    POWERTOOLS_LAYER,
    BundleError,
    TemplateError,
    collect_sources,
    render_index,
    render_template,
)

SOURCE = textwrap.dedent(
    """\
    Resources:
      Function:
        Type: AWS::Lambda::Function
        Properties:
          Code:
            ZipFile: SHEPARD_BUNDLE(demo_pkg.handlers)
          Runtime: python3.13
    """
)


@pytest.fixture
def demo_package(tmp_path, monkeypatch):
    """Put a small package (subpackage, relative imports, a docstring quote) on sys.path; return its root."""
    root = tmp_path / "site" / "demo_pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text('"""Demo."""\n\nfrom .sub import GREETING\n\n__all__ = ["GREETING"]\n')
    (root / "sub" / "__init__.py").write_text("GREETING = 'h\\u00e9llo \"quoted\"'\n")
    (root / "handlers.py").write_text(
        "from . import GREETING\n\n\ndef handler(event, context):\n"
        "    return {'greeting': GREETING, 'event': event, 'name': __name__, 'package': __package__}\n"
    )
    (root / "fails.py").write_text("def boom():\n    raise RuntimeError('bundled failure')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return root


def run_index(directory, code):
    """Run `code` in a fresh, isolated interpreter that sees only `directory` (holding index.py)."""
    program = f"import sys; sys.path.insert(0, {str(directory)!r}); import index\n{code}"
    return subprocess.run(  # noqa: S603 - a fixed interpreter and program
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, check=False, cwd=directory
    )


class TestCollectSources:
    def test_reads_every_module_sorted_with_package_flags(self, demo_package):
        """Every .py file of the package becomes a module named for its path, packages flagged, sorted."""
        modules = collect_sources(("demo_pkg",))
        assert [(m.name, m.is_package) for m in modules] == [
            ("demo_pkg", True),
            ("demo_pkg.fails", False),
            ("demo_pkg.handlers", False),
            ("demo_pkg.sub", True),
        ]
        assert modules[0].text == (demo_package / "__init__.py").read_text()

    def test_missing_package_is_a_clear_error(self):
        """A package that is not installed cannot be bundled, and the error names it."""
        with pytest.raises(BundleError, match="no_such_package_here is not installed"):
            collect_sources(("no_such_package_here",))

    def test_directory_without_init_is_refused(self, demo_package):
        """A module in a directory without __init__.py is refused rather than bundled under a wrong name."""
        (demo_package / "loose").mkdir()
        (demo_package / "loose" / "thing.py").write_text("")
        with pytest.raises(BundleError, match=r"without __init__\.py"):
            collect_sources(("demo_pkg",))


class TestRenderIndex:
    def test_index_serves_the_bundle_and_exposes_the_handler(self, demo_package, tmp_path):
        """The rendered index.py imports the bundled package from memory and exposes the entry's handler."""
        code = render_index("demo_pkg.handlers", "demo", collect_sources(("demo_pkg",)))
        (tmp_path / "index.py").write_text(code)

        result = run_index(tmp_path, "import json; print(json.dumps(index.handler({'a': 1}, None)))")

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "greeting": 'h\u00e9llo "quoted"',
            "event": {"a": 1},
            "name": "demo_pkg.handlers",
            "package": "demo_pkg",
        }

    def test_traceback_shows_the_bundled_line(self, demo_package, tmp_path):
        """A traceback (as logging and the Lambda runtime format it) shows the bundle path and source line."""
        code = render_index("demo_pkg.handlers", "demo", collect_sources(("demo_pkg",)))
        (tmp_path / "index.py").write_text(code)

        result = run_index(
            tmp_path,
            "import logging, demo_pkg.fails\n"
            "try:\n    demo_pkg.fails.boom()\n"
            "except RuntimeError:\n    logging.exception('failed')",
        )

        assert 'File "shepard-bundle/demo_pkg/fails.py", line 2, in boom' in result.stderr
        assert "raise RuntimeError('bundled failure')" in result.stderr

    def test_sources_are_packed_and_unpack_to_the_modules_text(self, demo_package, tmp_path):
        """The index holds the sources packed, not as plain lines, and they unpack to each module's text."""
        modules = collect_sources(("demo_pkg",))
        code = render_index("demo_pkg.handlers", "demo", modules)
        (tmp_path / "index.py").write_text(code)
        assert "raise RuntimeError('bundled failure')" not in code
        result = run_index(tmp_path, "import json; print(json.dumps(index._SOURCES))")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {module.name: module.text for module in modules}

    def test_rendering_is_deterministic_and_ascii(self, demo_package):
        """Rendering the same sources twice gives the same ASCII text."""
        first = render_index("demo_pkg.handlers", "demo", collect_sources(("demo_pkg",)))
        second = render_index("demo_pkg.handlers", "demo", collect_sources(("demo_pkg",)))
        assert first == second
        assert first.isascii()


class TestRenderTemplate:
    def test_marker_becomes_a_literal_block_holding_the_code(self):
        """The marker line becomes a YAML literal block that parses back to exactly the bundle's text."""
        code = '"""Doc."""\n\nx = "a: b # not a comment"\n\n\ndef handler(event, context):\n    return x\n'
        rendered = render_template(SOURCE, lambda module: code if module == "demo_pkg.handlers" else "")
        parsed = yaml.safe_load(rendered)
        assert parsed["Resources"]["Function"]["Properties"]["Code"]["ZipFile"] == code
        assert parsed["Resources"]["Function"]["Properties"]["Runtime"] == "python3.13"
        assert rendered.startswith("# Generated by `nox -s template`")

    def test_malformed_marker_is_refused(self):
        """A marker that does not match the expected form is an error, not left in the output."""
        with pytest.raises(TemplateError, match="malformed bundle marker"):
            render_template(SOURCE.replace("SHEPARD_BUNDLE(demo_pkg.handlers)", "SHEPARD_BUNDLE(x"), str)

    def test_template_without_marker_is_refused(self):
        """A source template with nothing to bundle is an error."""
        with pytest.raises(TemplateError, match="no SHEPARD_BUNDLE"):
            render_template("Resources: {}\n", str)

    def test_non_ascii_bundle_is_refused(self):
        """A bundle that is not ASCII text ending in a newline is refused."""
        with pytest.raises(TemplateError, match="must be ASCII"):
            render_template(SOURCE, lambda _module: "x = 'h\u00e9'\n")


class TestLambdaRuntimeCheck:
    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("Runtime: python3.13", "Runtime: python3.12"),
            ("Runtime: python3.13", "Runtime:   python3.14  "),
        ],
    )
    def test_another_runtime_is_refused(self, old, new):
        """A Runtime other than LAMBDA_RUNTIME fails the render, naming both."""
        with pytest.raises(
            TemplateError, match=r"names the runtime python3\.1[24].*LAMBDA_RUNTIME is python3\.13"
        ):
            render_template(SOURCE.replace(old, new), lambda _module: "x = 1\n")

    @pytest.mark.parametrize(
        "layer",
        [
            '"{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.12/latest}}"',
            "'{{resolve:ssm:/aws/service/powertools/python/arm64/python3.13/latest}}'",
            "{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.13/3.1.0}}",
        ],
    )
    def test_another_powertools_layer_is_refused(self, layer):
        """A Powertools layer other than POWERTOOLS_LAYER fails the render, whatever its quoting."""
        source = SOURCE + f"          Layers:\n            - {layer}\n"
        with pytest.raises(TemplateError, match="POWERTOOLS_LAYER is"):
            render_template(source, lambda _module: "x = 1\n")

    def test_the_flock_s_own_layer_passes(self):
        """The layer the package names renders, quoted as the source template quotes it."""
        source = SOURCE + f'          Layers:\n            - "{POWERTOOLS_LAYER}"\n'
        assert POWERTOOLS_LAYER in render_template(source, lambda _module: "x = 1\n")


class TestCommandLine:
    def test_lambda_python_is_printed(self):
        """`python -m shepard_flock --lambda-python` prints the runtime's version, for the noxfile and CI."""
        result = subprocess.run(
            [sys.executable, "-m", "shepard_flock", "--lambda-python"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout == f"{LAMBDA_PYTHON}\n"
        assert f"python{LAMBDA_PYTHON}" == LAMBDA_RUNTIME

    def test_outside_a_checkout_the_paths_must_be_given(self, tmp_path):
        """Without --source, the command looks for a checkout and says plainly when there is none."""
        result = subprocess.run(
            [sys.executable, "-m", "shepard_flock", "--check"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert result.returncode == 2
        assert "inside a Shepard checkout" in result.stderr

    def test_a_missing_source_is_an_error_not_a_traceback(self, tmp_path):
        """A --source that does not exist is reported in one line with exit status 2."""
        command = [sys.executable, "-m", "shepard_flock", "--source", str(tmp_path / "nope.yml")]
        result = subprocess.run(  # noqa: S603 - a fixed interpreter and program
            [*command, "--output", str(tmp_path / "out.yml")], capture_output=True, text=True, check=False
        )
        assert result.returncode == 2
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.stderr
