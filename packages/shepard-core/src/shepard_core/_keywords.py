"""The environment variable names Shepard reserves for itself, and the special ones users may set."""

from __future__ import annotations

from typing import Final

RESERVED_KEYWORDS: Final[frozenset[str]] = frozenset(
    {
        "UUID",
        "START_TIME",
        "END_TIME",
        "JOB_STATUS",
        "EFS_INPUT_NAME",
        "EFS_OUTPUT_NAME",
        "LUSTRE_INPUT_NAME",
        "LUSTRE_OUTPUT_NAME",
        "ROOT_INPUT_NAME",
        "ROOT_OUTPUT_NAME",
        "INPUTS_BUCKET",
        "OUTPUTS_BUCKET",
        "ERROR_BUCKET",
        "INPUT_ZIP_NAME",
        "PATH",
        "HOSTNAME",
        "USES_EFS",
        "USES_LUSTRE",
        "LUSTRE_READ_ONLY_PATH",
        "EFS_READ_ONLY_PATH",
        "ULIMIT_FILENO",
        "IS_INVOKED",
    }
)
"""Names a job may not set (compared case-insensitively): the architecture sets them."""

TAG: Final = "TAG"
QUICK_DEPLOY_DIRECTORY: Final = "QUICK_DEPLOY_DIRECTORY"

SPECIAL_KEYWORDS: Final[frozenset[str]] = frozenset({TAG, QUICK_DEPLOY_DIRECTORY})
"""Names a job may set that change what the architecture does (compared case-insensitively)."""


RESERVED_PREFIX: Final = "SHEPARD_"
"""Names starting with this (any case) are reserved too: Shepard's own row attributes and settings."""


def is_reserved(name: str) -> bool:
    """Return whether `name` is a reserved keyword or starts with the reserved prefix, ignoring case."""
    upper = name.upper()
    return upper in RESERVED_KEYWORDS or upper.startswith(RESERVED_PREFIX)


def special_value(inputs: dict[str, str], keyword: str) -> str | None:
    """Return the value the inputs give a special keyword (any case), or None when unset or empty."""
    wanted = keyword.upper()
    for key, value in inputs.items():
        if key.upper() == wanted and value != "":
            return value
    return None
