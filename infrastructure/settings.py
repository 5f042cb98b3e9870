"""All configuration, read once from TRIPCORD_* environment variables."""

import os
import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.dispatch import DEFAULT_RETRY_SCHEDULE_S, parse_schedule

WEEK_S = 7 * 86400


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIPCORD_", extra="ignore")

    data_dir: Path = Path("./.tripcord")
    database_url: str | None = None  # default: SQLite file in the data dir
    nats_url: str | None = None  # default: a private nats-server; "none": no stream; or servers, comma-separated
    nats_token: str | None = None  # for a NATS that asks for one (the private server always does)
    jwt_secret: str | None = None  # default: generated once, kept in the data dir
    metrics_token: str | None = None  # when set, /metrics asks for it as a bearer token
    webhook_allow_private: bool = False
    webhook_host_connections: int = Field(16, ge=1)  # per receiver host, per process
    access_log: bool = True  # one JSON line per request, with its request id
    max_body_bytes: int = 64 * 1024
    max_batch_bytes: int = 1024 * 1024
    dispatch_deadline_s: float = Field(2.0, gt=0)
    stream_publish_timeout_s: float = Field(0.5, gt=0)
    retry_schedule: str = ",".join(map(str, DEFAULT_RETRY_SCHEDULE_S))  # seconds after the first attempt
    stream_duplicate_window_s: int = Field(3600, ge=1)
    stream_max_age: int = Field(WEEK_S, ge=60)  # seconds a stream keeps a message
    stream_replicas: int = Field(1, ge=1, le=5)
    event_retention_days: float | None = Field(None, gt=0)  # unset: the event log keeps everything
    max_triggers_per_tenant: int = Field(10_000, ge=1)  # active ones
    tenant_rate: float | None = Field(None, gt=0)  # events per second per tenant and process; unset: no limit
    tenant_burst: int = Field(200, ge=1)
    relay_grace_s: float = Field(10.0, ge=0)  # beyond the deadline, before the relay finishes a request's work
    index_poll_s: float = Field(0.5, gt=0)
    relay_poll_s: float = Field(0.5, gt=0)
    # Whether this process runs the relay. Every relay looks at every event, so with several
    # workers only the first runs one (tripcord serve sees to it); any number is safe.
    relay: bool = True
    db_threads: int = Field(8, ge=1)
    batch_max: int = Field(256, ge=1)

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)  # raises with the reason
        return value

    @property
    def retry_delays(self) -> tuple:
        return parse_schedule(self.retry_schedule)

    @property
    def relay_grace_ms(self) -> int:
        """How long a request has to settle its event itself before the relay steps in."""
        return int((self.dispatch_deadline_s + self.relay_grace_s) * 1000)

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / 'tripcord.db').resolve()}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    @property
    def stream_enabled(self) -> bool:
        return (self.nats_url or "").lower() != "none"

    @property
    def nats_servers(self) -> list[str]:
        return [url.strip() for url in (self.nats_url or "").split(",") if url.strip()]

    def jwt_key(self) -> str:
        """The configured secret, or the one generated on first start (file mode 0600)."""
        if self.jwt_secret:
            return self.jwt_secret
        return secret_file(self.data_dir / "jwt_secret")


def secret_file(path: Path) -> str:
    """A secret kept in a file of mode 0600, generated the first time it is asked for. Written
    aside and linked into place, so that a process starting at the same time never reads half of it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: theirs stands
        finally:
            aside.unlink()
    return path.read_text().strip()
