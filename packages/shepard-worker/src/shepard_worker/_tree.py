"""Walk and remove folder trees of any depth without recursion, by descriptors that never follow links."""

from __future__ import annotations

import dataclasses
import os
import stat
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import TracebackType

DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
KEEP: Final = 64


class DirChain:
    """The open folders from a root down to the current one, holding about depth/KEEP + KEEP descriptors.

    Folders deeper than KEEP below the current one are closed unless their depth is a multiple of
    KEEP; going back up reopens a closed folder by name from the nearest open one, each step with
    O_NOFOLLOW, so no walk can be led outside the root.
    """

    def __init__(self, root: Path) -> None:
        """Open `root` (which must be a folder, not a symlink)."""
        self._fds: list[int | None] = [os.open(root, DIR_FLAGS)]
        self._names: list[str] = []

    @property
    def depth(self) -> int:
        """How many folders below the root the current folder is."""
        return len(self._names)

    def path(self, name: str = "") -> str:
        """Return the current folder's path below the root (joined with `name` when given)."""
        return os.path.join(*self._names, name) if self._names else name  # noqa: PTH118 - names, not paths

    def fd(self) -> int:
        """Return a descriptor of the current folder (valid until the next enter or leave)."""
        current = self._fds[-1]
        if current is None:
            current = self._reopen()
        return current

    def enter(self, name: str) -> None:
        """Make the current folder's subfolder `name` the current folder."""
        fd = os.open(name, DIR_FLAGS, dir_fd=self.fd())
        self._names.append(name)
        self._fds.append(fd)
        level = len(self._fds) - 1 - KEEP
        if level > 0 and level % KEEP:
            held = self._fds[level]
            if held is not None:
                os.close(held)
                self._fds[level] = None

    def leave(self) -> str:
        """Make the parent folder current again; return the name of the folder left."""
        held = self._fds.pop()
        if held is not None:
            os.close(held)
        return self._names.pop()

    def close(self) -> None:
        """Close every descriptor held."""
        for held in self._fds:
            if held is not None:
                os.close(held)
        self._fds = [None]

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close every descriptor held."""
        self.close()

    def _reopen(self) -> int:
        base = max(level for level, held in enumerate(self._fds) if held is not None)
        fd = self._fds[base]
        assert fd is not None  # noqa: S101 - the root is always held
        for level in range(base + 1, len(self._fds)):
            fd = os.open(self._names[level - 1], DIR_FLAGS, dir_fd=fd)
            self._fds[level] = fd
        return fd


@dataclasses.dataclass(frozen=True)
class Node:
    """One entry met by `walk`: its path below the root (bytes, `/`-separated), name, lstat or error."""

    path: bytes
    name: str
    stat: os.stat_result | None
    error: OSError | None = None

    @property
    def is_dir(self) -> bool:
        """Whether the entry is a folder (not a symlink to one)."""
        return self.stat is not None and stat.S_ISDIR(self.stat.st_mode)


def _listing(fd: int) -> list[os.DirEntry[str]]:
    with os.scandir(fd) as scan:
        return sorted(scan, key=lambda entry: entry.name)


def walk(chain: DirChain) -> Iterator[Node]:
    """Yield every entry under the chain's root, folders before their contents, names sorted.

    While a node is yielded, `chain.fd()` is the folder holding it. A folder that cannot be
    entered or listed is yielded again with `error` set, and its contents are left out.
    """
    prefix: list[bytes] = []
    stack: list[Iterator[os.DirEntry[str]]] = [iter(_listing(chain.fd()))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            if stack:
                chain.leave()
                prefix.pop()
            continue
        path = b"/".join([*prefix, os.fsencode(entry.name)])
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield Node(path, entry.name, None, exc)
            continue
        node = Node(path, entry.name, st)
        yield node
        if node.is_dir:
            try:
                chain.enter(entry.name)
            except OSError as exc:
                yield Node(path, entry.name, st, exc)
                continue
            try:
                listing = _listing(chain.fd())
            except OSError as exc:
                chain.leave()
                yield Node(path, entry.name, st, exc)
                continue
            prefix.append(os.fsencode(entry.name))
            stack.append(iter(listing))


def tree_size(folder: Path) -> int:
    """Return the total size of the regular files under `folder`, not following symlinks."""
    with DirChain(folder) as chain:
        return sum(
            node.stat.st_size
            for node in walk(chain)
            if node.error is None and node.stat is not None and stat.S_ISREG(node.stat.st_mode)
        )


def remove_tree(path: Path) -> None:
    """Delete `path` and everything under it, never following symlinks; raise the first OSError met.

    Folders a payload locked (no owner rwx) are unlocked first. Everything removable is removed
    even when some entries are not.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        path.unlink()
        return
    errors: list[OSError] = []
    parent_fd = os.open(path.parent, DIR_FLAGS)
    try:
        _unlock(parent_fd, path.name, st)
        with DirChain(path) as chain:
            _remove_contents(chain, errors)
        try:
            os.rmdir(path.name, dir_fd=parent_fd)
        except OSError as exc:
            errors.append(OSError(exc.errno, exc.strerror, ""))
    finally:
        os.close(parent_fd)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise OSError(first.errno, f"{first.strerror}{more}", str(path / str(first.filename)))


def _remove_contents(chain: DirChain, errors: list[OSError]) -> None:
    stack: list[Iterator[os.DirEntry[str]]] = [iter(_listing(chain.fd()))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            if stack:
                name = chain.leave()
                try:
                    os.rmdir(name, dir_fd=chain.fd())
                except OSError as exc:
                    errors.append(OSError(exc.errno, exc.strerror, chain.path(name)))
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _unlock(chain.fd(), entry.name, st)
                chain.enter(entry.name)
                try:
                    listing = _listing(chain.fd())
                except OSError:
                    chain.leave()
                    raise
                stack.append(iter(listing))
            else:
                os.unlink(entry.name, dir_fd=chain.fd())
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(OSError(exc.errno, exc.strerror, chain.path(entry.name)))


def _unlock(dir_fd: int, name: str, st: os.stat_result) -> None:
    """Give the owner rwx on folder `name` (a payload may have locked it) so its contents can go."""
    if st.st_mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(name, stat.S_IMODE(st.st_mode) | stat.S_IRWXU, dir_fd=dir_fd)
