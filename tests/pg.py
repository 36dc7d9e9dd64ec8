"""A throwaway PostgreSQL 15 cluster for the tests, and a database of its own for each test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A cluster in a folder of its own. PostgreSQL refuses to run as root: when we are root,
    its tools run as the `postgres` OS user, which owns the folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql://casework@127.0.0.1:{self.port}/postgres"

    def initdb(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 is not installed in {PG_BIN}; install it or point "
                               "CASEWORK_TEST_PG_URL at a server")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "casework", "--no-sync",
                  "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (their transactions roll back) after a clean checkpoint."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True)
        if done.returncode:
            log = self.root / "log"
            raise RuntimeError(f"{tool} failed: {done.stderr.strip()}"
                               + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster, stopped and removed at the end."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="casework-pg-")))
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


@contextmanager
def database(server_url: str) -> Iterator[str]:
    """A new database on the server; its URL, and the database dropped at the end."""
    name = f"casework_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
