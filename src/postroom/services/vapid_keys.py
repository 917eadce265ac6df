"""The platform's VAPID key pair (RFC 8292): made once on first start, private key encrypted."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.models_channels import VapidKey
from postroom.notify.webpush import generate_vapid_keys
from postroom.secrets import Secret, SecretBox
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.webpush")
# One row, always this id: two processes starting at once both try to insert it, and the
# primary key lets exactly one win (the other reads the winner's row).
_KEY_ID = 1


def _stored(session: Session) -> VapidKey | None:
    return session.get(VapidKey, _KEY_ID)


def ensure_vapid_key(runtime: Runtime) -> str:
    """Create the key pair if there is none yet; its public key (base64url)."""
    with runtime.platform() as session:
        row = _stored(session)
        if row is not None:
            return row.public_key
    pair = generate_vapid_keys()
    try:
        with runtime.platform() as session:
            session.add(
                VapidKey(
                    id=_KEY_ID,
                    private_key_encrypted=runtime.secret_box.encrypt(pair.private_pem),
                    public_key=pair.public_key,
                )
            )
        log.info("VAPID key pair created", extra={"public_key": pair.public_key})
        return pair.public_key
    except IntegrityError:
        # Another process made it between our read and our insert: theirs is the key.
        with runtime.platform() as session:
            row = _stored(session)
            assert row is not None
            return row.public_key


def public_key(runtime: Runtime) -> str:
    """The applicationServerKey browsers subscribe with (created on first use if missing)."""
    return ensure_vapid_key(runtime)


def private_key(session: Session, secret_box: SecretBox) -> tuple[Secret, str]:
    """(private key PEM, public key), for signing; created by `ensure_vapid_key` at start."""
    row = _stored(session)
    if row is None:
        raise LookupError("no VAPID key yet: ensure_vapid_key runs at start")
    return secret_box.decrypt(row.private_key_encrypted), row.public_key


def reencrypt_key(runtime: Runtime) -> int:
    """Re-encrypt the VAPID private key with the newest key (`postroom secrets rotate`)."""
    with runtime.platform() as session:
        row = _stored(session)
        if row is None:
            return 0
        row.private_key_encrypted = runtime.secret_box.rotate(row.private_key_encrypted)
        return 1
