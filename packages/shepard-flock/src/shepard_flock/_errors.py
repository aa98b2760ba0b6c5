"""The errors of the flock's definition."""


class TemplateError(Exception):
    """The template cannot be rendered, read, or holds no usable Lambda code."""
