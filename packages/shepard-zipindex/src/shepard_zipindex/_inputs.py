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
_INPUTS_LENGTH: Final = len(INPUTS_NAME)
_UPLOAD_AGAIN: Final = "then upload the zip again"


class _Sample:
    """A count of names and the first few of them, so that a message can list some in bounded memory."""

    def __init__(self) -> None:
        self.count = 0
        self.first: list[str] = []

    def add(self, name: str) -> None:
        self.count += 1
        if len(self.first) < _MAX_LISTED:
            self.first.append(name)

    def listing(self) -> str:
        shown = ", ".join(repr(n) for n in self.first)
        more = self.count - len(self.first)
        return shown + (f" and {more} more" if more else "")


class InputsLocator:
    """Apply the inputs.txt rules to names fed one at a time, keeping only a bounded summary of them."""

    def __init__(self) -> None:
        """Start with no names seen."""
        self.relevant = 0
        self.at_root = 0
        self.first_top: str | None = None
        self.other_tops = _Sample()
        """Top-level entries other than the first one (some counted twice once many are known)."""
        self._other_top_names: set[str] = set()
        self.loose_at_top = False
        """Whether some relevant name has no folder (a file or empty name at the top level)."""
        self.one_deep = _Sample()
        self.deeper = _Sample()
        self.near_misses = _Sample()
        self._one_deep_names: set[str] = set()
        self._prefix: str | None = None
        """The first top-level folder and its slash: names starting so need no closer look."""

    def add(self, name: str) -> None:
        """Take one member name into account (names under __MACOSX/ are ignored)."""
        prefix = self._prefix
        if (prefix is None or not name.startswith(prefix)) and not self._add_top(name):
            return
        self.relevant += 1
        tail = name[-_INPUTS_LENGTH:]
        if tail == INPUTS_NAME or tail.lower() == INPUTS_NAME:
            self._add_inputs_like(name)

    def _add_top(self, name: str) -> bool:
        """Note a name outside the first top-level folder; tell whether it counts (is not macOS metadata)."""
        top, slash, _rest = name.partition("/")
        if top == MACOS_METADATA_FOLDER:
            return False
        if not slash:
            self.loose_at_top = True
        if self.first_top is None:
            self.first_top = top
            self._prefix = top + "/"
        elif top != self.first_top and top not in self._other_top_names:
            if len(self._other_top_names) < _MAX_LISTED:
                self._other_top_names.add(top)
            self.other_tops.add(top)
        return True

    def _add_inputs_like(self, name: str) -> None:
        _top, slash, rest = name.partition("/")
        base = name.rsplit("/", 1)[-1]
        if base != INPUTS_NAME:
            if base.lower() == INPUTS_NAME:
                self.near_misses.add(name)
        elif not slash:
            self.at_root += 1
        elif rest == INPUTS_NAME:
            self.one_deep.add(name)
            if len(self._one_deep_names) <= _MAX_LISTED:
                self._one_deep_names.add(name)
        else:
            self.deeper.add(name)

    @property
    def one_folder(self) -> bool:
        """Tell whether every relevant name sits under one top-level folder."""
        return self.first_top is not None and not self.loose_at_top and not self.other_tops.count

    def result(self) -> str:
        """Return the name of the job's inputs.txt, or raise the error that says why there is none."""
        if self.at_root > 1:
            raise AmbiguousInputsError(
                f"The zip holds {self.at_root} members named {INPUTS_NAME!r} at its top level, so it is not "
                f"clear which one holds the job's inputs: keep exactly one, {_UPLOAD_AGAIN}."
            )
        if self.at_root:
            return INPUTS_NAME
        if not self.relevant:
            raise InputsNotFoundError(
                f"The zip is empty (or holds only macOS {MACOS_METADATA_FOLDER} metadata), so it has no "
                f"{INPUTS_NAME}: put the job's files in it, with an {INPUTS_NAME} at its top level, "
                f"{_UPLOAD_AGAIN}."
            )
        if self.one_deep.count and (self.one_folder or len(self._one_deep_names) > 1):
            if len(self._one_deep_names) == 1 and self.one_deep.count == 1:
                return self.one_deep.first[0]
            raise AmbiguousInputsError(self._ambiguous_message())
        raise InputsNotFoundError(self._not_found_message())

    def _ambiguous_message(self) -> str:
        if len(self._one_deep_names) == 1:
            return (
                f"The zip holds {self.one_deep.count} members named {self.one_deep.first[0]!r}, so it is "
                f"not clear which one holds the job's inputs: keep exactly one, {_UPLOAD_AGAIN}."
            )
        return (
            f"The zip has no {INPUTS_NAME} at its top level, and several top-level folders hold one "
            f"({self.one_deep.listing()}), so it is not clear which one holds the job's inputs: put "
            f"exactly one {INPUTS_NAME} at the top level of the zip (one zip per job), {_UPLOAD_AGAIN}."
        )

    def _not_found_message(self) -> str:
        if self.one_folder:
            folder = f"{self.first_top}/"
            sentences = [
                (
                    f"The zip has no {INPUTS_NAME}: everything in it sits in the folder {folder!r}, so "
                    f"Shepard looked for {folder + INPUTS_NAME!r} and for {INPUTS_NAME!r} at the top level, "
                    "and found neither."
                )
            ]
        else:
            sentences = [f"The zip has no {INPUTS_NAME} at its top level, where Shepard looks for it."]
        if self.one_deep.count:
            found = self.one_deep.first[0]
            folder = found.partition("/")[0]
            beside = next((t for t in [self.first_top, *self.other_tops.first] if t != folder), folder)
            sentences.append(
                f"It does hold {found!r}, but Shepard only looks inside a folder when that folder is the "
                "only thing in the zip, and other files or folders sit beside it at the top level (such as "
                f"{beside!r}): move {INPUTS_NAME} to the top level, or zip the folder on its own."
            )
        elif self.deeper.count:
            sentences.append(
                f"It does hold {self.deeper.listing()}, which is nested too deep: move {INPUTS_NAME} to "
                "the top level of the zip (or directly into its only folder)."
            )
        if self.near_misses.count:
            sentences.append(
                f"It holds {self.near_misses.listing()}, but the name must be exactly {INPUTS_NAME!r} in "
                "lower case: rename it."
            )
        if len(sentences) == 1:
            sentences.append(
                f"Add an {INPUTS_NAME} (a JSON object of the job's inputs) at the top level of the zip, "
                f"{_UPLOAD_AGAIN}."
            )
        return " ".join(sentences)


def locate_inputs(names: Iterable[str]) -> str:
    """Return the name of the zip's inputs.txt: at the root, else in the single top-level folder."""
    locator = InputsLocator()
    for name in names:
        locator.add(name)
    return locator.result()
