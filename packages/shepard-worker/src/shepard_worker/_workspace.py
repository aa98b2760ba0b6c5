"""The job's scratch folders: `<mount>/<UUID>/{input,output}` on root, and on EFS and Lustre when enabled."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from shepard_core import OutputKind

from shepard_worker._errors import StagingError
from shepard_worker._tree import remove_tree

if TYPE_CHECKING:
    from pathlib import Path

    from shepard_worker._config import WorkerConfig

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class JobDirs:
    """One file system's folders for the job."""

    kind: OutputKind
    mount: Path
    job_dir: Path
    input_dir: Path
    output_dir: Path


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The job's folders on every enabled file system, root first."""

    root: JobDirs
    efs: JobDirs | None
    lustre: JobDirs | None

    @classmethod
    def plan(cls, config: WorkerConfig) -> Workspace:
        """Return the folders the configuration asks for, without touching the disk."""

        def dirs(kind: OutputKind, mount: Path) -> JobDirs:
            job_dir = mount / config.job_uuid
            return JobDirs(kind, mount, job_dir, job_dir / "input", job_dir / "output")

        return cls(
            root=dirs(OutputKind.ROOT, config.root_mount),
            efs=dirs(OutputKind.EFS, config.efs_mount) if config.uses_efs else None,
            lustre=dirs(OutputKind.LUSTRE, config.lustre_mount) if config.uses_lustre else None,
        )

    @property
    def all(self) -> list[JobDirs]:
        """Every enabled file system's folders: root, EFS, Lustre."""
        return [d for d in (self.root, self.efs, self.lustre) if d is not None]

    @property
    def preferred_input_dir(self) -> Path:
        """Where the input zip and quick-deploy folder go: Lustre, else EFS, else root.

        The order is the original Shepard's.
        """
        for dirs in (self.lustre, self.efs, self.root):
            if dirs is not None:
                return dirs.input_dir
        raise AssertionError("the root folders always exist")  # pragma: no cover

    def create(self) -> None:
        """Create every folder empty; a previous attempt's leftovers are removed first."""
        for dirs in self.all:
            if not dirs.mount.is_dir():
                raise StagingError(
                    f"{dirs.kind.value} mount {dirs.mount} does not exist; "
                    f"is the {dirs.kind.value} file system mounted into the worker?"
                )
            if dirs.job_dir.exists() or dirs.job_dir.is_symlink():
                log.warning("removing %s left by an earlier attempt", dirs.job_dir)
                try:
                    _remove(dirs.job_dir)
                except OSError as exc:
                    raise StagingError(
                        f"could not remove {dirs.job_dir} left by an earlier attempt: {exc}"
                    ) from None
            dirs.input_dir.mkdir(parents=True)
            dirs.output_dir.mkdir()

    def remove(self) -> None:
        """Delete every folder of the job, never following symlinks; raise OSError if any is left.

        Every file system is cleaned even when one fails; the first failure is raised at the end.
        """
        errors: list[OSError] = []
        for dirs in self.all:
            try:
                _remove(dirs.job_dir)
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


def _remove(path: Path) -> None:
    try:
        remove_tree(path)
    except OSError:
        raise
    except Exception as exc:  # any other failure is still a folder left on disk
        raise OSError(f"could not remove {path}: {exc!r}") from exc
