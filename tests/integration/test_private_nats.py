"""The private nats-server of `tripcord serve`: its own token, a log file, dies with its parent, one per data dir."""

import asyncio
import json
import os
import re
import urllib.request
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def serve(data_dir: Path, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRIPCORD_")},
           "TRIPCORD_DATA_DIR": str(data_dir), "TRIPCORD_JWT_SECRET": "s" * 40}
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, port


def wait_for(check, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s")


def nats_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if int(fields[1]) == pid and name.startswith("nats-server"):
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture
def running(tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    process, port = serve(data_dir, log)
    try:
        url = wait_for(lambda: (m := re.search(r"private nats-server \(JetStream\) at (\S+),", log.read_text()))
                       and m.group(1))
        nats_pid = wait_for(lambda: (children := nats_children(process.pid)) and children[0])
        wait_for(lambda: ready(port))
        yield process, data_dir, log, url, nats_pid
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


async def nats_says(url: str, connect: dict) -> str:
    """Speaks the NATS protocol's CONNECT by hand and returns the server's answer to a PING after it."""
    host, port = url.removeprefix("nats://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        await reader.readline()  # INFO
        writer.write(b"CONNECT " + json.dumps({"verbose": False, **connect}).encode() + b"\r\nPING\r\n")
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 5)).decode().strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_the_private_server_asks_for_the_data_directory_s_token(running):
    _, data_dir, _, url, _ = running
    token_file = data_dir / "nats_token"

    without = await nats_says(url, {})
    wrong = await nats_says(url, {"auth_token": "guess"})
    right = await nats_says(url, {"auth_token": token_file.read_text().strip()})
    connection = await nats.connect(url, token=token_file.read_text().strip(), connect_timeout=2,
                                    max_reconnect_attempts=0)
    names = [s.config.name for s in await connection.jetstream().streams_info()]
    await connection.close()

    assert without == wrong == "-ERR 'Authorization Violation'" and right == "PONG"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert {"TRIPCORD_EVENTS", "TRIPCORD_ACTIONS"} <= set(names)
    assert token_file.read_text().strip() not in Path(f"/proc/{running[4]}/cmdline").read_text()


def test_its_log_goes_to_a_file_not_a_pipe(running):
    _, data_dir, _, _, nats_pid = running

    assert os.readlink(f"/proc/{nats_pid}/fd/2") == str(data_dir / "nats-server.log")
    assert (data_dir / "nats-server.log").stat().st_size > 0


def test_a_second_serve_on_the_same_data_directory_stops_with_a_clear_message(running, tmp_path):
    _, data_dir, _, _, _ = running

    second, _ = serve(data_dir, tmp_path / "second.log")
    code = second.wait(30)

    output = (tmp_path / "second.log").read_text()
    assert code == 1
    assert "another tripcord serve is running on the data directory" in output and "Traceback" not in output


def test_it_dies_with_a_serve_killed_by_sigkill(running):
    process, _, _, _, nats_pid = running

    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)

    wait_for(lambda: not alive(nats_pid), timeout=10)
