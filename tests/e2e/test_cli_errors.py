"""The command line fails with one clear line and a non-zero status, never a traceback."""

import subprocess
import sys

from tests.servers import free_port


def tripcord(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "TRIPCORD_DATA_DIR": str(tmp_path), **env})


def test_serve_says_why_when_the_database_is_unreachable(tmp_path):
    closed = free_port()

    result = tripcord(tmp_path, "serve", "--port", str(free_port()), TRIPCORD_NATS_URL="none",
                      TRIPCORD_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/tripcord")

    assert result.returncode == 1
    assert result.stderr.startswith("tripcord: cannot open the database: ")
    assert f"{closed}" in result.stderr and "Traceback" not in result.stderr


def test_tail_says_why_when_nats_is_unreachable(tmp_path):
    result = tripcord(tmp_path, "tail", TRIPCORD_NATS_URL=f"nats://127.0.0.1:{free_port()}")

    assert result.returncode == 1
    assert result.stderr.startswith("cannot reach NATS at nats://127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_replay_projections_says_why_when_the_database_is_unreachable(tmp_path):
    result = tripcord(tmp_path, "replay", "projections",
                      TRIPCORD_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/tripcord")

    assert result.returncode == 1
    assert result.stderr.startswith("tripcord: cannot open the database: ")
    assert "Traceback" not in result.stderr
