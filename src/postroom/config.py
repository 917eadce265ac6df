"""Settings read from the environment (prefix POSTROOM_), validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
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
    # Documents a company may send through the platform relay (B5); a company's own limit wins.
    relay_document_limit: int = Field(default=50, ge=0)
    # The platform relay (B5): an SMTP smarthost for companies that send without their own
    # server. No host: no relay. Mail through it says From: the company's name
    # <relay_from_address> (also the envelope sender) with Reply-To: the sending user, because
    # only the platform's domain passes SPF/DKIM/DMARC for mail the relay sends (RFC 7489).
    relay_host: str | None = None
    relay_port: int = Field(default=587, ge=1, le=65535)
    relay_security: Literal["none", "starttls", "tls"] = "starttls"
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_from_address: str | None = None
    # Deliverability (docs/deliverability.md). Relay mail from a company without a verified
    # domain says From: "<company> via <platform_name>" <relay_from_address>. A verified
    # company domain is signed with DKIM under `dkim_selector`; the rewritten mail is signed
    # for the relay address's own domain with the platform's key, when one is configured.
    platform_name: str = Field(default="Postroom", min_length=1, max_length=100)
    dkim_selector: str = Field(
        default="postroom", pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )
    relay_dkim_selector: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )
    relay_dkim_private_key_file: Path | None = None  # PEM, RSA, no passphrase

    @model_validator(mode="after")
    def _relay_dkim_is_complete(self) -> Settings:
        # Header injection through the display name, and a key without a selector (or the
        # reverse) that would sign nothing: refused at start-up.
        if any(ord(ch) < 32 for ch in self.platform_name):
            raise ValueError("POSTROOM_PLATFORM_NAME cannot contain control characters")
        if (self.relay_dkim_selector is None) != (self.relay_dkim_private_key_file is None):
            raise ValueError(
                "POSTROOM_RELAY_DKIM_SELECTOR and POSTROOM_RELAY_DKIM_PRIVATE_KEY_FILE go together"
            )
        key_file = self.relay_dkim_private_key_file
        if key_file is not None and not key_file.is_file():
            raise ValueError(f"POSTROOM_RELAY_DKIM_PRIVATE_KEY_FILE: no file at {key_file}")
        return self

    @model_validator(mode="after")
    def _relay_is_complete(self) -> Settings:
        # A half-configured relay would fail at the first send, long after start-up.
        if self.relay_host and not self.relay_from_address:
            raise ValueError("POSTROOM_RELAY_FROM_ADDRESS must be set with POSTROOM_RELAY_HOST")
        address = self.relay_from_address or ""
        if address and ("@" not in address or any(ch in address for ch in "\r\n <>")):
            raise ValueError(
                "POSTROOM_RELAY_FROM_ADDRESS must be a bare address: relay@example.com"
            )
        if bool(self.relay_username) != (self.relay_password is not None):
            raise ValueError("POSTROOM_RELAY_USERNAME and POSTROOM_RELAY_PASSWORD go together")
        return self

    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    # Set to true only behind HTTPS; the session cookie then carries `Secure`.
    secure_cookies: bool = False
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    # Outbox delivery (docs/outbox.md): parallel SMTP connections per server (account or relay),
    # messages claimed per batch, how long a claim lasts before another worker may take the
    # message over, the retry backoff (doubling from base to max, with jitter), the time limit
    # of each SMTP stage.
    delivery_connections: int = Field(default=4, ge=1, le=50)
    delivery_batch_size: int = Field(default=200, ge=1, le=5000)
    # Accepted messages a connection may have sent but not yet recorded before it holds back
    # the next final "." (docs/outbox.md): each is a possible duplicate if the worker dies.
    delivery_unrecorded_per_connection: int = Field(default=1, ge=1, le=20)
    delivery_lease_seconds: float = Field(default=300.0, ge=5)
    delivery_retry_base_seconds: float = Field(default=60.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_smtp_timeout_seconds: float = Field(default=300.0, gt=0)
    # CAs trusted for mail servers in addition to the system's (a PEM file).
    extra_ca_file: Path | None = None
    # Networks that user-given hosts may resolve to although internal (comma-separated CIDRs).
    allowed_networks: str = ""
    # "Test account" (A6): the most a whole test may take, both servers together.
    account_test_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Login failures in a row after which an account "needs attention" and stops fetching.
    account_auth_failure_limit: int = Field(default=10, ge=1)
    # Receiving (docs/receiving.md): accounts fetched at once by one worker, IMAP connections
    # one big folder is downloaded over, messages and bytes per FETCH batch (the memory bound),
    # the fetch lock's lease, the time limit of each server step, how often the worker looks
    # for due fetches, and IMAP IDLE push (one connection per IMAP account, up to the limit).
    fetch_concurrency: int = Field(default=10, ge=1, le=500)
    fetch_connections: int = Field(default=2, ge=1, le=8)
    fetch_batch_messages: int = Field(default=500, ge=1, le=5000)
    fetch_batch_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    fetch_lease_seconds: float = Field(default=120.0, ge=10)
    fetch_timeout_seconds: float = Field(default=120.0, gt=0)
    fetch_poll_seconds: float = Field(default=2.0, gt=0)
    fetch_idle: bool = True
    fetch_idle_max_accounts: int = Field(default=1000, ge=0)
    # Worker processes that parse received mail (services/parse_pool.py): bodies for the
    # search index, headers of a big download's batches; 0 parses in the fetching process.
    parse_processes: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=0, le=32)
    # Messages (C1, docs/api.md): the domain of Message-IDs (unset: each sender's own domain),
    # the largest attachment or upload, the largest whole message once encoded, recipients per
    # message (RFC 5321 §4.5.3.1.8 guarantees 100), and how long a send is retried (C3).
    message_id_domain: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    )
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_message_bytes: int = Field(default=40 * 1024 * 1024, ge=64 * 1024)
    max_recipients: int = Field(default=100, ge=1, le=10000)
    send_retry_deadline_hours: float = Field(default=72.0, gt=0)
    # Autodiscovery (docs/autoconfig.md): DNS servers as comma-separated IPs, empty = the
    # system's; the most one lookup may take; whether autoconfig files may come over plain HTTP.
    dns_nameservers: str = ""
    dns_port: int = Field(default=53, ge=1, le=65535)
    autodiscovery_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    autoconfig_http_fallback: bool = False

    @field_validator("dns_nameservers")
    @classmethod
    def _nameservers_are_addresses(cls, value: str) -> str:
        # The DNS client takes IP addresses only: a host name here would fail every lookup later.
        for part in (p.strip() for p in value.split(",")):
            if part:
                ipaddress.ip_address(part)  # its ValueError names the bad entry
        return value

    # Where browsers reach Postroom (scheme://host[:port][/prefix]); OAuth2 providers send the
    # user back to $PUBLIC_URL/api/v1/oauth/callback. Unset: http://HOST:PORT.
    public_url: str | None = None
    # OAuth2 (XOAUTH2) apps registered with the providers; a provider without a client id is off.
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    microsoft_tenant: str = Field(default="common", pattern=r"^[A-Za-z0-9.-]+$")
    # Endpoint overrides (sovereign clouds, tests); "{tenant}" is replaced in Microsoft's.
    google_authorize_url: str | None = None
    google_token_url: str | None = None
    microsoft_authorize_url: str | None = None
    microsoft_token_url: str | None = None
    microsoft_scopes: str | None = None  # space-separated; e.g. outlook.office365.us for GCC High
    # How long a started "connect with Google/Microsoft" sign-in may take.
    oauth_flow_minutes: int = Field(default=10, ge=1, le=60)
    # New mail (docs/api.md "Contacts, tasks, notifications, webhooks"): how often the
    # autoresponder answers one sender (RFC 3834 §2), the time zone its dates are meant in,
    # free-mail domains (a file, one a line) on top of the built-in list, and webhook delivery:
    # the time limit of one request and how long a delivery is retried.
    autoresponder_period_days: float = Field(default=4.0, gt=0, le=365)
    local_timezone: str = Field(default="Europe/Warsaw", pattern=r"^[A-Za-z0-9_+/-]+$")
    freemail_domains_file: FilePath | None = None  # checked at start: it must exist
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_retry_deadline_hours: float = Field(default=24.0, gt=0)
    # Notification stream (docs/api.md "Notifications"): how often an open stream looks in
    # the database for new notifications (every worker process sees every other's), and the
    # longest silence before a heartbeat comment keeps proxies from closing it.
    notification_stream_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    notification_stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # Campaigns (docs/campaigns.md): rows one campaign may have, rows rendered and queued per
    # transaction by the worker's feeder, how many days a survey is answered after its campaign
    # started, the largest CSV/XLSX upload of rows.
    campaign_max_recipients: int = Field(default=100_000, ge=1)
    campaign_feed_batch: int = Field(default=100, ge=1, le=2000)
    campaign_survey_days: int = Field(default=30, ge=1, le=3650)
    campaign_upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # Templates (docs/api.md "Templates"): the most one message's rendering may take (subject,
    # HTML and text together) and the most characters it may produce.
    template_render_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    template_max_output_chars: int = Field(default=1_000_000, ge=10_000, le=50_000_000)
    # Web Push (docs/webpush.md): the VAPID contact push services may write to (RFC 8292
    # §2.1, a mailto: or https: URI), how long a push service keeps a message for an offline
    # browser (RFC 8030 §5.2), the time limit of one request, how long a send is retried.
    webpush_subject: str = Field(
        default="mailto:postmaster@localhost", pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$"
    )
    webpush_ttl_seconds: int = Field(default=3 * 24 * 3600, ge=0, le=28 * 24 * 3600)
    webpush_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webpush_retry_deadline_hours: float = Field(default=24.0, gt=0)
    # SMS (docs/sms.md): the provider ("none" turns SMS off for every office), its
    # credentials and API address (tests point it at a local server), the price list an
    # office accepts before it may send, how long temporary failures are retried, and the
    # time limit of one request to the provider.
    sms_provider: Literal["none", "smsapi", "twilio"] = "none"
    smsapi_token: SecretStr | None = None
    smsapi_base_url: str = "https://api.smsapi.pl"
    twilio_account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = Field(default=None, max_length=20)
    twilio_messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    twilio_base_url: str = "https://api.twilio.com"
    sms_price_list: str = Field(default="standard-2026", min_length=1, max_length=100)
    sms_price_per_segment: Decimal = Field(
        default=Decimal("0.16"), ge=0, max_digits=10, decimal_places=4
    )
    sms_currency: str = Field(default="PLN", pattern=r"^[A-Z]{3}$")
    sms_retry_deadline_hours: float = Field(default=24.0, gt=0)
    sms_timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    @model_validator(mode="after")
    def _sms_provider_is_complete(self) -> Settings:
        # A provider without its credentials would fail every SMS long after start-up.
        if self.sms_provider == "smsapi" and self.smsapi_token is None:
            raise ValueError("POSTROOM_SMS_PROVIDER=smsapi needs POSTROOM_SMSAPI_TOKEN")
        if self.sms_provider == "twilio":
            if not self.twilio_account_sid or self.twilio_auth_token is None:
                raise ValueError(
                    "POSTROOM_SMS_PROVIDER=twilio needs POSTROOM_TWILIO_ACCOUNT_SID and"
                    " POSTROOM_TWILIO_AUTH_TOKEN"
                )
            if not (self.twilio_from or self.twilio_messaging_service_sid):
                raise ValueError(
                    "POSTROOM_SMS_PROVIDER=twilio needs POSTROOM_TWILIO_FROM or"
                    " POSTROOM_TWILIO_MESSAGING_SERVICE_SID"
                )
        return self

    @field_validator("local_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # An unknown zone would only fail when the first autoresponder date is checked.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use e.g. Europe/Warsaw") from exc
        return value

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

    @field_validator(
        "public_url",
        "smsapi_base_url",
        "twilio_base_url",
        "google_authorize_url",
        "google_token_url",
        "microsoft_authorize_url",
        "microsoft_token_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

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
