"""Files casework keeps on disk for itself."""

from __future__ import annotations

import os
from pathlib import Path


def owner_only(path: Path) -> None:
    """A database file only its owner reads and writes (SQLite gives its -wal and -shm files
    the same mode): created so, or made so."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        pass  # not ours to change: SQLite says what is wrong when it opens it
