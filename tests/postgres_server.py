"""A throwaway PostgreSQL server from the machine's Debian packages, for the thread-store tests.

Started in a temporary folder on a free loopback port and removed at the end; as root it runs as
the `postgres` user, since the server refuses to run as root.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def find_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> tuple[Callable[[], None] | None, int | None]:
    if os.geteuid() != 0:
        return None, None
    user = pwd.getpwnam("postgres")

    def drop() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop, user.pw_uid


@contextmanager
def running_postgres(bin_dir: Path) -> Iterator[str]:
    """Yield the URL of a fresh server; stop it and delete its files afterwards."""
    drop, uid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    if uid is not None:
        os.chown(root, uid, -1)
    data = root / "data"
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "assistant", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        preexec_fn=drop,
    )
    port = _free_port()
    options = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    server = subprocess.Popen(
        [bin_dir / "postgres", "-D", data, "-p", str(port), "-k", root, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=drop,
    )
    url = f"postgresql://assistant@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test PostgreSQL server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)
