"""Where the generated template is, and reading it as data (CloudFormation's short-form tags in long form)."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any, Final

from shepard_flock._errors import TemplateError

TEMPLATE_VAR: Final = "SHEPARD_TEMPLATE"
"""An environment variable naming the template to use instead of the one found."""
TEMPLATE_RELATIVE: Final = Path("cloudformation") / "shepard.yml"
"""The generated template, in a checkout: the file users download and deploy."""
SOURCE_RELATIVE: Final = Path("cloudformation") / "src" / "shepard.template.yml"
"""The source template, in a checkout: the one to edit."""
PACKAGED_TEMPLATE: Final = "shepard.yml"
"""The copy of the generated template inside this package's wheel, put there when the wheel is built."""


def packaged_template() -> Path:
    """Return the generated template shipped inside this package (the checkout's, copied at build time).

    An editable install runs from the checkout's src/ folder, which holds no copy: there it is the
    checkout's own cloudformation/shepard.yml.
    """
    packaged = Path(
        str(importlib.resources.files(__package__ or "shepard_flock").joinpath(PACKAGED_TEMPLATE))
    )
    if packaged.is_file():
        return packaged
    # src/shepard_flock/_template.py -> the checkout holding packages/shepard-flock/
    checkout = Path(__file__).resolve().parents[4] / TEMPLATE_RELATIVE
    return checkout if checkout.is_file() else packaged


def _nearest(relative: Path, start: Path | None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / relative).is_file():
            return directory
    return None


def checkout_root(start: Path | None = None) -> Path:
    """Return the nearest folder, from `start` (default: here) upwards, holding the source template."""
    found = _nearest(SOURCE_RELATIVE, start)
    if found is None:
        raise TemplateError(f"no {SOURCE_RELATIVE} here or above: run this inside a Shepard checkout")
    return found


def find_template(start: Path | None = None) -> Path:
    """Return $SHEPARD_TEMPLATE, else the nearest cloudformation/shepard.yml from `start` upwards.

    Outside a checkout it is the copy of the template this package ships.
    """
    configured = os.environ.get(TEMPLATE_VAR)
    if configured:
        return Path(configured).expanduser()
    found = _nearest(TEMPLATE_RELATIVE, start)
    return found / TEMPLATE_RELATIVE if found is not None else packaged_template()


def _yaml_loader() -> type[Any]:
    """Return a YAML SafeLoader that reads CloudFormation's short-form tags (`!Ref`, `!Sub`...)."""
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        """A SafeLoader turning `!Ref X` into `{"Ref": "X"}`, `!GetAtt A.B` into `{"Fn::GetAtt": [A, B]}`."""

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    CloudFormationLoader.add_multi_constructor("!", construct)
    return CloudFormationLoader


def parse_template(text: str, origin: str = "the template") -> dict[str, Any]:
    """Return the template `text` as data, short-form tags turned into their long forms."""
    import yaml

    try:
        document = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{origin} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{origin} is not a CloudFormation template (no Resources)")
    return document


def load_template(template: Path | None = None) -> dict[str, Any]:
    """Return the template at `template` (default: find_template()) as data, intrinsics in long form."""
    path = find_template() if template is None else template
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc
    return parse_template(text, str(path))


def inline_code(template: dict[str, Any], logical_id: str) -> str:
    """Return the inline `index.py` of the template's Lambda function `logical_id`."""
    try:
        code = template["Resources"][logical_id]["Properties"]["Code"]["ZipFile"]
    except (KeyError, TypeError):
        raise TemplateError(f"the template has no Lambda function {logical_id} with inline code") from None
    if not isinstance(code, str):
        raise TemplateError(f"the inline code of {logical_id} is not text")
    return code
