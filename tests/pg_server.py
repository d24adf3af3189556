"""A throwaway PostgreSQL + PostGIS server for the tests (Debian's packages, loopback only).

``start()`` runs ``initdb`` in a temporary folder as the ``postgres`` system user
(PostgreSQL refuses to run as root), starts the server on a free loopback port
with a Unix socket in that folder, creates a database with the PostGIS
extension and returns a :class:`PgServer`; ``stop()`` stops it and removes the
folder. ``scripts/test.sh`` installs ``postgresql`` and ``postgresql-15-postgis-3``
when missing, as it installs Chromium.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgServer", "pg_bin", "start"]


def pg_bin() -> Path | None:
    """The newest PostgreSQL bin folder with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    folder: Path
    port: int
    user: str
    database: str
    _run_as: list[str]

    @property
    def url(self) -> str:
        """``postgresql://USER@127.0.0.1:PORT/DB`` (no password: trust on loopback)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def project_ref(self, name: str) -> str:
        return f"{self.url}?project={name}"

    def stop(self) -> None:
        bin_ = pg_bin()
        subprocess.run(
            [
                *self._run_as,
                str(bin_ / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start(*, database: str = "innomap_test") -> PgServer:
    """Start a server (see the module docstring); raises RuntimeError if it cannot."""
    bin_ = pg_bin()
    if bin_ is None:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql postgresql-15-postgis-3"
        )
    folder = Path(tempfile.mkdtemp(prefix="innomap-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def run(*cmd, **kw):
        r = subprocess.run(
            [*run_as, *map(str, cmd)], capture_output=True, text=True, timeout=120, **kw
        )
        if r.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr or r.stdout}")
        return r

    run(
        bin_ / "initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    run(
        bin_ / "pg_ctl",
        "-D",
        data,
        "-l",
        folder / "log.txt",
        "-w",
        "-t",
        "60",
        "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c max_connections=50",
        "start",
    )
    for _ in range(100):
        r = subprocess.run(
            [*run_as, str(bin_ / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if r.returncode == 0:
            break
        time.sleep(0.1)
    psql = [
        str(bin_ / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    run(*psql, "-d", "postgres", "-c", f"CREATE DATABASE {database}")
    run(*psql, "-d", database, "-c", "CREATE EXTENSION postgis")
    return PgServer(folder=folder, port=port, user="postgres", database=database, _run_as=run_as)
