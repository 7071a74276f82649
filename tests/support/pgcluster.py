"""A throwaway PostgreSQL cluster of the test's own (initdb, pg_ctl), for what the shared
server on 127.0.0.1:5432 cannot show: TLS (its ssl is off) and roles created from scratch."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.availability import unavailable

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    port: int
    socket_dir: Path
    bin_dir: Path
    as_owner: tuple[str, ...]
    """The command prefix that runs a client as the cluster's owner (``runuser`` as root)."""

    def psql(
        self, *args: str, user: str = "postgres", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *self.as_owner,
                str(self.bin_dir / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                user,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        )


@contextmanager
def pg_cluster(
    *,
    hba: str,
    cert: Path | None = None,
    key: Path | None = None,
    auth: str = "trust",
) -> Iterator[Cluster]:
    """Start a cluster on a free port with the given pg_hba.conf; TLS on when a certificate
    and key are given; superuser ``postgres`` (``auth``: its initdb authentication)."""
    if not PG_BINS:
        unavailable("PostgreSQL's server binaries (initdb, pg_ctl)")
    bin_dir = PG_BINS[-1].parent
    as_owner: tuple[str, ...] = ()
    owner = None
    if os.geteuid() == 0:
        # initdb refuses root: the cluster belongs to the postgres user.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("a postgres user to own the test cluster")
        as_owner = ("runuser", "-u", "postgres", "--")
    # Not under pytest's tmp (0700 root): the postgres user must reach the directory.
    work = Path(tempfile.mkdtemp(prefix="suxing-pg-"))
    data = work / "data"
    port = free_port()
    if owner is not None:
        os.chown(work, owner.pw_uid, owner.pw_gid)
    try:
        subprocess.run(
            [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", auth],
            check=True,
            capture_output=True,
            timeout=120,
        )
        settings = [
            f"port = {port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{work}'",
            "fsync = off",
        ]
        if cert is not None and key is not None:
            for source, name in ((cert, "server.crt"), (key, "server.key")):
                target = data / name
                shutil.copyfile(source, target)
                target.chmod(0o600)
                if owner is not None:
                    os.chown(target, owner.pw_uid, owner.pw_gid)
            settings += [
                "ssl = on",
                "ssl_cert_file = 'server.crt'",
                "ssl_key_file = 'server.key'",
                "ssl_min_protocol_version = 'TLSv1.2'",
            ]
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        (data / "pg_hba.conf").write_text(hba)
        subprocess.run(
            [
                *as_owner,
                str(bin_dir / "pg_ctl"),
                *("-D", str(data), "-l", str(work / "log"), "-w", "-t", "60", "start"),
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        yield Cluster(port=port, socket_dir=work, bin_dir=bin_dir, as_owner=as_owner)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(work, ignore_errors=True)
