"""The policy pack file, parsed once and re-read when it changes on disk."""

from __future__ import annotations

import threading
from pathlib import Path

from domain.errors import Unavailable
from domain.policy import PolicyPack


class PackFile:
    """A reviewed edit of the pack lands without a restart; an unreadable file is Unavailable
    (the screening activity then retries until ops fix it) and an invalid one InvalidInput."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[float, PolicyPack] | None = None

    def get(self) -> PolicyPack:
        try:
            mtime = self.path.stat().st_mtime
            with self._lock:
                if self._cached is None or self._cached[0] != mtime:
                    self._cached = (mtime, PolicyPack.from_toml(self.path.read_text()))
                return self._cached[1]
        except OSError as e:
            raise Unavailable(f"cannot read policy pack {self.path}: {e.strerror}") from None
