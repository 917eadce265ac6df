"""Settings read from the environment (prefix POSTROOM_), validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_MIN_PLATFORM_TOKEN_LENGTH = 32


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "postroom"


class Settings(BaseSettings):
    """Everything an operator can set. Built by `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(env_prefix="POSTROOM_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8025, ge=1, le=65535)
    # Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
    secret_key: SecretStr | None = None
    # A host application provisions companies with this token (Authorization: Bearer …).
    platform_token: SecretStr | None = None
    log_level: str = "INFO"
    # Documents a verified company may send through the platform relay (B5).
    relay_document_limit: int = Field(default=50, ge=0)
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    # Set to true only behind HTTPS; the session cookie then carries `Secure`.
    secure_cookies: bool = False
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    # CAs trusted for mail servers in addition to the system's (a PEM file).
    extra_ca_file: Path | None = None
    # Networks that user-given hosts may resolve to although internal (comma-separated CIDRs).
    allowed_networks: str = ""

    @field_validator("platform_token")
    @classmethod
    def _platform_token_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        # A guessable platform token would let anyone create tenants: refuse it at start-up.
        if value is not None and len(value.get_secret_value()) < _MIN_PLATFORM_TOKEN_LENGTH:
            raise ValueError(
                f"POSTROOM_PLATFORM_TOKEN must be at least {_MIN_PLATFORM_TOKEN_LENGTH} characters;"
                " generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'postroom.db'}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (used by the CLI and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
