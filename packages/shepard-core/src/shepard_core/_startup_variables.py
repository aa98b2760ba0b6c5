"""Variables that make a program load or run code before its own: refused in a job's inputs."""

from __future__ import annotations

from typing import Final

STARTUP_VARIABLES: Final[frozenset[str]] = frozenset(
    {
        # The dynamic loader and the C library: load a library or module into every program.
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "LOCPATH",
        "NLSPATH",
        # Shells: a file or code run at start-up, or a changed word splitting and trace prompt.
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "PROMPT_COMMAND",
        "IFS",
        "CDPATH",
        "GLOBIGNORE",
        "ZDOTDIR",
        # Interpreters: a module, library or option that runs before the program's own code.
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONUSERBASE",
        "PYTHONINSPECT",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "PERL5DB",
        "RUBYOPT",
        "RUBYLIB",
        "NODE_OPTIONS",
        "NODE_PATH",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "R_PROFILE",
        "R_PROFILE_USER",
        "R_ENVIRON",
        "R_ENVIRON_USER",
    }
)
"""Names refused exactly (compared case-insensitively) besides every `LD_`/`DYLD_` name."""

STARTUP_PREFIXES: Final = ("LD_", "DYLD_", "BASH_FUNC_")
"""Name prefixes of the dynamic loaders' variables and bash's exported functions."""


def is_startup_variable(name: str) -> bool:
    """Return whether `name` (any case) makes a program load or run code before its own."""
    upper = name.upper()
    return upper in STARTUP_VARIABLES or upper.startswith(STARTUP_PREFIXES)
