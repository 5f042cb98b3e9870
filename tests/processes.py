"""`tripcord serve` as a real process on 127.0.0.1, its output in a log file."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.faults.load import until
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


class ServeProcess:
    """One `tripcord serve` on 127.0.0.1, its output in a log file."""

    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 30.0) -> None:
        async def answers() -> bool:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                async with aiohttp.ClientSession() as session, session.get(f"{self.url}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False
        assert await until(answers, timeout, interval=0.2), f"not ready in {timeout} s:\n{self.log_path.read_text()}"

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
