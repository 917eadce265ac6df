"""Sender domains a company verified for the platform relay, with their DKIM keys (issue 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postroom.db.base import Base, TenantOwned, UtcDateTime, utcnow


class SenderDomain(TenantOwned, Base):
    __tablename__ = "sender_domains"
    __table_args__ = (UniqueConstraint("company_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255))  # lower-case, IDNA (xn--) form
    dkim_selector: Mapped[str] = mapped_column(String(63))
    # 2048-bit RSA private key (PEM), encrypted with the secret box like every secret.
    dkim_private_key_encrypted: Mapped[str] = mapped_column(Text)
    dkim_public_key: Mapped[str] = mapped_column(Text)  # the p= value of the TXT record
    # Set when the TXT record was found published with our public key; relay mail from this
    # domain is signed from then on, and sent with the company's own From.
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
