"""Pick the member that is a job's inputs.txt out of a zip's member names, never by guessing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shepard_zipindex._errors import AmbiguousInputsError, InputsNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterable

INPUTS_NAME: Final = "inputs.txt"
MACOS_METADATA_FOLDER: Final = "__MACOSX"
"""The folder of resource forks that macOS's Finder adds beside the zipped folder; ignored."""

_MAX_LISTED: Final = 5


def locate_inputs(names: Iterable[str]) -> str:
    """Return the name of the zip's inputs.txt: at the root, else in the single top-level folder."""
    relevant = [n for n in names if n.split("/", 1)[0] != MACOS_METADATA_FOLDER]
    at_root = [n for n in relevant if n == INPUTS_NAME]
    if len(at_root) > 1:
        raise AmbiguousInputsError(
            f"the zip holds {len(at_root)} members named {INPUTS_NAME!r} at its root; keep exactly one"
        )
    if at_root:
        return at_root[0]
    if not relevant:
        raise InputsNotFoundError(f"the zip is empty: it needs an {INPUTS_NAME} at its root")
    tops = {n.split("/", 1)[0] for n in relevant}
    one_folder = len(tops) == 1 and all("/" in n for n in relevant)
    one_deep = [n for n in relevant if n.count("/") == 1 and n.endswith("/" + INPUTS_NAME)]
    if one_folder:
        if len(one_deep) > 1:
            raise AmbiguousInputsError(
                f"the zip holds {len(one_deep)} members named {one_deep[0]!r}; keep exactly one"
            )
        if one_deep:
            return one_deep[0]
    elif len(one_deep) > 1:
        raise AmbiguousInputsError(
            f"the zip has no {INPUTS_NAME} at its root but several top-level folders hold one "
            f"({_listing(one_deep)}); put exactly one {INPUTS_NAME} at the root"
        )
    raise InputsNotFoundError(_not_found_message(relevant, tops, one_deep, one_folder=one_folder))


def _not_found_message(relevant: list[str], tops: set[str], one_deep: list[str], *, one_folder: bool) -> str:
    where = (
        f"at its root nor in its only folder {min(tops)!r}/"
        if one_folder
        else f"at its root (and its members are spread over {len(tops)} top-level entries, so no folder "
        "counts as the root)"
    )
    message = f"the zip has no {INPUTS_NAME} {where}"
    elsewhere = [n for n in relevant if n.rsplit("/", 1)[-1] == INPUTS_NAME]
    near_misses = [n for n in relevant if n.rsplit("/", 1)[-1].lower() == INPUTS_NAME and n not in elsewhere]
    if one_deep and not one_folder:
        message += f"; found {_listing(one_deep)} but other top-level entries sit beside its folder"
    elif elsewhere:
        message += f"; found {_listing(elsewhere)}, which is nested too deep"
    if near_misses:
        message += f"; found {_listing(near_misses)}: the name must be exactly {INPUTS_NAME!r} (lower case)"
    return message


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")
