"""Render cloudformation/shepard.yml from its source template with the scheduler code inlined."""

from shepard_template._bundle import BUNDLED_PACKAGES, BundleError, collect_sources, render_index
from shepard_template._render import MARKER, TemplateError, render_template

__all__ = [
    "BUNDLED_PACKAGES",
    "MARKER",
    "BundleError",
    "TemplateError",
    "collect_sources",
    "render_index",
    "render_template",
]
