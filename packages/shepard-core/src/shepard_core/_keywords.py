"""The environment variable names Shepard reserves for itself, and the special ones users may set."""

from __future__ import annotations

import enum
from typing import Final


class PayloadVariable(enum.StrEnum):
    """A variable set in every payload's environment, as the original Shepard does (PATH: the runtime's).

    The EFS_* and LUSTRE_* names are set only when the flock has that file system, ULIMIT_FILENO only
    when the flock sets a limit.
    """

    UUID = "UUID"
    START_TIME = "START_TIME"
    END_TIME = "END_TIME"
    JOB_STATUS = "JOB_STATUS"
    EFS_INPUT_NAME = "EFS_INPUT_NAME"
    EFS_OUTPUT_NAME = "EFS_OUTPUT_NAME"
    LUSTRE_INPUT_NAME = "LUSTRE_INPUT_NAME"
    LUSTRE_OUTPUT_NAME = "LUSTRE_OUTPUT_NAME"
    ROOT_INPUT_NAME = "ROOT_INPUT_NAME"
    ROOT_OUTPUT_NAME = "ROOT_OUTPUT_NAME"
    INPUTS_BUCKET = "INPUTS_BUCKET"
    OUTPUTS_BUCKET = "OUTPUTS_BUCKET"
    ERROR_BUCKET = "ERROR_BUCKET"
    INPUT_ZIP_NAME = "INPUT_ZIP_NAME"
    PATH = "PATH"
    HOSTNAME = "HOSTNAME"
    USES_EFS = "USES_EFS"
    USES_LUSTRE = "USES_LUSTRE"
    LUSTRE_READ_ONLY_PATH = "LUSTRE_READ_ONLY_PATH"
    EFS_READ_ONLY_PATH = "EFS_READ_ONLY_PATH"
    ULIMIT_FILENO = "ULIMIT_FILENO"
    IS_INVOKED = "IS_INVOKED"


RESERVED_KEYWORDS: Final[frozenset[str]] = frozenset(variable.value for variable in PayloadVariable)
"""Names a job may not set (compared case-insensitively): every payload variable Shepard sets."""

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
