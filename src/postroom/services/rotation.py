"""Re-encrypt every stored secret with the newest key (`postroom secrets rotate`)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from postroom.db.models import Account
from postroom.services import sender_domains, vapid_keys, webhooks
from postroom.services.runtime import Runtime

ENCRYPTED_ACCOUNT_COLUMNS = (
    "smtp_password_encrypted",
    "incoming_password_encrypted",
    "oauth_refresh_token_encrypted",
    "oauth_access_token_encrypted",
)


def count_accounts(runtime: Runtime) -> int:
    with runtime.platform() as session:
        return len(session.scalars(select(Account.id)).all())


def reencrypt_all(
    runtime: Runtime, *, on_progress: Callable[[int], None] = lambda _n: None, batch_size: int = 200
) -> int:
    """Rotate each secret to the first key, a batch per transaction; returns secrets rotated."""
    rotated, last_id = 0, 0
    while True:
        with runtime.platform() as session:
            batch = session.scalars(
                select(Account).where(Account.id > last_id).order_by(Account.id).limit(batch_size)
            ).all()
            for account in batch:
                for column in ENCRYPTED_ACCOUNT_COLUMNS:
                    token = getattr(account, column)
                    if token is not None:
                        setattr(account, column, runtime.secret_box.rotate(token))
                        rotated += 1
        if not batch:
            return rotated + _reencrypt_company_secrets(runtime)
        last_id = batch[-1].id
        on_progress(len(batch))


def _reencrypt_company_secrets(runtime: Runtime) -> int:
    """Webhook signing secrets and DKIM private keys: few rows, one transaction."""
    with runtime.platform() as session:
        rotated = webhooks.reencrypt_secrets(session, runtime.secret_box)
    rotated += vapid_keys.reencrypt_key(runtime)  # the platform's Web Push key (RFC 8292)
    return rotated + sender_domains.reencrypt_keys(runtime)
