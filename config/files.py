"""Files casework keeps on disk for itself."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def owner_only(path: Path) -> None:
    """A database file only its owner reads and writes (SQLite gives its -wal and -shm files
    the same mode): created so, or made so."""
    try:
        # Never open (and so close) a file this process's SQLite connections may hold: closing
        # any descriptor of it drops their POSIX locks, and another process then takes the
        # database for unused (its WAL reset under our readers). Only a new file is opened.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # not ours to change: SQLite says what is wrong when it opens it
    for made in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # (a -wal or -shm an older casework left 0644)
            os.chmod(made, 0o600)
