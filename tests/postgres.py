"""A private PostgreSQL server for the tests: initdb in a temporary directory, a free loopback
port, pg_ctl start and stop, a database per test.

Owns the cluster's life only: it never touches the machine's own PostgreSQL (its data, its
port, its unix sockets). Listens on 127.0.0.1 only. The superuser (`notifier_admin`) is
trusted; the application's users log in with a password (scram-sha-256), as in production.

As root, initdb refuses to run: the cluster then belongs to the `postgres` user, and its
commands run through `runuser`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql


def _bin_directory() -> Path:
    """$NOTIFIER_TEST_PG_BIN, else the newest Debian PostgreSQL (15 on bookworm)."""
    if os.environ.get("NOTIFIER_TEST_PG_BIN"):
        return Path(os.environ["NOTIFIER_TEST_PG_BIN"])
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    return installed[-1].parent if installed else Path("/usr/lib/postgresql/15/bin")


BIN = _bin_directory()
ADMIN = "notifier_admin"
MISSING = (
    f"PostgreSQL is not installed ({BIN / 'initdb'} is missing): install Debian's postgresql "
    "package (.ci/run does), or set NOTIFIER_TEST_PG_BIN to its bin directory"
)

_names = itertools.count(1)


class ClusterError(Exception):
    """The private cluster could not be created, started or stopped."""


def available() -> bool:
    return (BIN / "initdb").is_file() and (BIN / "pg_ctl").is_file()


@dataclass(frozen=True, slots=True)
class Database:
    """One database and its owner, who logs in with `password`."""

    host: str
    port: int
    name: str
    user: str
    password: str

    @property
    def url(self) -> str:
        """The URL as an operator writes it in `store.url`: no password in it."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    @property
    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(self.url, password=self.password)


class Cluster:
    """A PostgreSQL cluster of its own in a temporary directory. `start()` before use."""

    def __init__(self) -> None:
        if not available():
            raise ClusterError(MISSING)
        self.root = Path(tempfile.mkdtemp(prefix="notifier-pg-"))
        self.data = self.root / "data"
        self.host = "127.0.0.1"
        self.port = 0
        self._owner = _run_as()
        if self._owner is not None:
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        self._initdb()

    def _initdb(self) -> None:
        self._command(
            BIN / "initdb", "-D", self.data, "-U", ADMIN, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        (self.data / "pg_hba.conf").write_text(
            f"host all {ADMIN} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            # Speed over durability across power cuts only: a commit still reaches the kernel
            # before it returns, so it survives the server's crash (tests stop it -m immediate).
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start on a free loopback port (the same port again after a `stop`)."""
        for _ in range(5):
            port = self.port or _free_port()
            try:
                self._command(
                    BIN / "pg_ctl", "start", "-D", self.data, "-w", "-t", "30",
                    "-l", self.root / "server.log", "-o", f"-p {port}",
                )  # fmt: skip
            except ClusterError:
                if self.port:
                    raise
                continue  # another process took the port between the probe and the start
            self.port = port
            return
        raise ClusterError(f"PostgreSQL did not start; see {self.root / 'server.log'}")

    def stop(self, mode: str = "fast") -> None:
        self._command(BIN / "pg_ctl", "stop", "-D", self.data, "-w", "-m", mode)

    def remove(self) -> None:
        with contextlib.suppress(ClusterError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={ADMIN} dbname=postgres"

    def create_database(self, prefix: str = "notifier") -> Database:
        """A new, empty database owned by a new user of its own, with a random password."""
        number = next(_names)
        database = Database(
            self.host, self.port, f"{prefix}_{number}", f"{prefix}_user_{number}",
            secrets.token_urlsafe(12),
        )  # fmt: skip
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(database.user), sql.Literal(database.password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database.name), sql.Identifier(database.user)
                )
            )
        return database

    def drop_database(self, database: Database) -> None:
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database.name)
                )
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.user)))

    def terminate(self, pid: int) -> bool:
        """pg_terminate_backend: end one server process as an administrator would."""
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        return bool(row and row[0])

    def _command(self, *argv: object) -> None:
        args = [str(a) for a in argv]
        if self._owner is not None:
            args = ["runuser", "-u", self._owner.pw_name, "--", *args]
        done = subprocess.run(
            args, cwd=self.root, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed: {done.stderr.strip() or done.stdout}")


def _run_as() -> pwd.struct_passwd | None:
    """The `postgres` user when running as root (initdb refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            "running as root, and there is no 'postgres' user to own the test cluster: "
            "install Debian's postgresql package, which creates it"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
