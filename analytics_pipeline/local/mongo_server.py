"""The local MongoDB-protocol server (SecantusDB) for the demo, the UI and the tests.

Only used when ``MONGODB_URI`` is unset. The server is a separate process; the code talks to it
with plain pymongo over TCP, exactly as it would to a real MongoDB or Atlas.
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pymongo

from analytics_pipeline.local.processes import (
    free_port, pid_alive, port_in_use, start_process_group, stop_process_group, wait_until,
)
from analytics_pipeline.core.settings import DEFAULT_LOCAL_MONGO_PORT

HOST = "127.0.0.1"


@dataclass(frozen=True)
class LocalServer:
    pid: int
    port: int

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"


def _daemon() -> str:
    found = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    if not Path(found).exists():
        raise RuntimeError(
            "secantusd-py not found: install the local server with `pip install -e '.[local]'` "
            "(or set MONGODB_URI to an existing MongoDB)")
    return found


def pings(uri: str, timeout_ms: int = 1000) -> bool:
    """True when a MongoDB server answers ``ping`` at ``uri``."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def status(data_dir: Path) -> LocalServer | None:
    """The running server recorded under ``data_dir``, or None."""
    pid_file, port_file = data_dir / "server.pid", data_dir / "server.port"
    if not (pid_file.exists() and port_file.exists()):
        return None
    try:
        server = LocalServer(int(pid_file.read_text()), int(port_file.read_text()))
    except ValueError:
        return None
    return server if pid_alive(server.pid) else None


def start(data_dir: Path, port: int = DEFAULT_LOCAL_MONGO_PORT, timeout: float = 30.0) -> LocalServer:
    """Start the server on 127.0.0.1 with data under ``data_dir``; harmless when already running."""
    running = status(data_dir)
    if running is not None:
        wait_until(lambda: pings(running.uri), timeout, what=f"MongoDB on port {running.port}")
        return running
    data_dir.mkdir(parents=True, exist_ok=True)
    if port_in_use(HOST, port):  # e.g. another checkout's server: take any free port instead
        port = free_port(HOST)
    proc = start_process_group(
        [_daemon(), "--host", HOST, "--port", str(port), "--storage-path", str(data_dir / "data"),
         "--log-level", "WARNING"],
        log_path=data_dir / "server.log",
    )
    server = LocalServer(proc.pid, port)
    try:
        wait_until(lambda: proc.poll() is None and pings(server.uri) or proc.poll() is not None,
                   timeout, what=f"MongoDB on port {port}")
    except TimeoutError:
        stop_process_group(proc.pid)
        raise
    if proc.poll() is not None:
        log_tail = (data_dir / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"local MongoDB server exited with code {proc.returncode}:\n{log_tail}")
    (data_dir / "server.pid").write_text(str(proc.pid))
    (data_dir / "server.port").write_text(str(port))
    return server


def stop(data_dir: Path) -> bool:
    """Stop the server recorded under ``data_dir``; False when none was running."""
    server = status(data_dir)
    for name in ("server.pid", "server.port"):
        (data_dir / name).unlink(missing_ok=True)
    if server is None:
        return False
    stop_process_group(server.pid)
    return True
