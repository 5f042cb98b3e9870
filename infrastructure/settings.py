"""All configuration, read once from TRIPCORD_* environment variables."""

import os
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIPCORD_", extra="ignore")

    data_dir: Path = Path("./.tripcord")
    database_url: str | None = None  # default: SQLite file in the data dir
    nats_url: str | None = None  # default: a private nats-server; "none": no stream
    jwt_secret: str | None = None  # default: generated once, kept in the data dir
    webhook_allow_private: bool = False
    access_log: bool = True  # one JSON line per request, with its request id
    max_body_bytes: int = 64 * 1024
    dispatch_deadline_s: float = Field(2.0, gt=0)
    stream_publish_timeout_s: float = Field(0.5, gt=0)
    dispatch_max_attempts: int = Field(8, ge=1)
    retry_base_ms: int = Field(1000, ge=10)
    retry_max_ms: int = Field(300_000, ge=10)
    stream_duplicate_window_s: int = Field(3600, ge=1)
    index_poll_s: float = Field(0.5, gt=0)
    relay_poll_s: float = Field(0.5, gt=0)
    db_threads: int = Field(8, ge=1)
    batch_max: int = Field(256, ge=1)

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

    def jwt_key(self) -> str:
        """The configured secret, or the one generated on first start (file mode 0600)."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
