"""Who owns a ``.build-*`` directory, so only a dead run's build is ever removed (issue 20).

A run builds its version in ``<study>/.build-<id>/`` and holds an exclusive ``flock`` on
``<study>/.locks/<build name>.owner`` while it builds (:func:`owned`).  The kernel releases the
lock when the process ends, however it ends (``kill -9`` included), so at the next run a build
whose lock can be taken has no live owner and is removed (:func:`stale`); a build whose lock is
held belongs to a run in progress and is left alone, whatever its age.  Builds without an owner
file (written by an older runner) are removed only when older than a day, as before.

:func:`refuse_links` keeps every version inside the reports directory: a symlinked
``reports/<study>`` is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path


def refuse_links(root: Path, study_dir: Path) -> None:
    """Refuse (InputError, exit 2, nothing written) a ``reports/<study>`` or ``<study>/failed``
    that is a symbolic link: a version must be written inside the reports directory, where
    ``exodus verify`` and the index look, not wherever a link points."""
    from analysis.errors import InputError

    for d in (study_dir, study_dir / "failed", study_dir / ".locks"):
        if d.is_symlink():
            raise InputError(f"{d} is a symbolic link (to {d.readlink()}); a report version is written only inside "
                             f"{root}: replace the link by a directory")


def lock_path(build: Path) -> Path:
    """The owner lock of ``build`` (outside the build, so it never enters the version)."""
    return build.parent / ".locks" / f"{build.name}.owner"


@contextlib.contextmanager
def owned(build: Path) -> Iterator[None]:
    """Hold the owner lock of ``build`` for the block (created before the build directory)."""
    path = lock_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            fcntl.flock(fh, fcntl.LOCK_UN)


def stale(build: Path, older_than_s: float = 24 * 3600) -> bool:
    """True when no live run owns ``build`` (its owner lock can be taken), or, without an owner
    file, when the build is older than ``older_than_s``."""
    path = lock_path(build)
    if not path.exists():
        return time.time() - build.stat().st_mtime > older_than_s
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a run in progress holds it
        fcntl.flock(fh, fcntl.LOCK_UN)
    return True
