"""Bounces: a real DSN from the local Postfix marks the recipient of our message bounced."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from postroom.db.models_outbox import OutboxMessage
from postroom.enums import AuthMethod, MessageStatus, RecipientStatus, Security
from postroom.services.bounces import apply_dsn
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import enqueue, load, make_account, messages_in, run_engine

SENDER = "faktury@example.test"
KEEP_DSN = os.environ.get("POSTROOM_KEEP_DSN")  # a directory: save the DSN (corpus files)


def _ghost(mailenv: MailEnv) -> str:
    """An address Postfix accepts (it is in its recipient table) but Dovecot does not know, so
    the LMTP delivery fails with 550 5.1.1 and Postfix sends a bounce to the sender."""
    address = f"ghost-{uuid.uuid4().hex[:8]}@example.test"
    mailbox(mailenv, address)
    passwd = mailenv.dir / "dovecot" / "passwd"
    before = passwd.stat()
    kept = [line for line in passwd.read_text().splitlines() if not line.startswith(address)]
    passwd.write_text("\n".join(kept) + "\n")
    # Dovecot re-reads the file when its mtime changes (it checks about once a second).
    os.utime(passwd, (before.st_atime + 2, before.st_mtime + 2))
    os.chown(passwd, before.st_uid, before.st_gid)
    time.sleep(1.5)
    return address


def _wait_for_bounce(inbox: Path, message_id: str, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in messages_in(inbox):
            data = path.read_bytes()
            if b"multipart/report" in data and message_id.encode() in data:
                return data
        time.sleep(0.2)
    raise AssertionError("Postfix sent no bounce")


def test_a_postfix_bounce_marks_the_recipient(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, mailenv: MailEnv
) -> None:
    mailbox(mailenv, SENDER)
    good = "bob@example.test"
    ghost = _ghost(mailenv)
    account = make_account(
        runtime,
        tenant.company_id,
        email_address=SENDER,
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=SENDER,
        password=MAILBOX_PASSWORD,
    )
    mid = enqueue(runtime, tenant.company_id, account, [ghost, good], sender=SENDER)
    run_engine(runtime)
    sent = load(runtime, tenant.company_id, mid)
    assert sent.status is MessageStatus.SENT, sent.last_reply
    raw = _wait_for_bounce(mailenv.maildir(SENDER), sent.message_id)
    if KEEP_DSN:
        Path(KEEP_DSN, "postfix-user-unknown.eml").write_bytes(raw)

    with runtime.tenant(other_tenant.company_id) as session:  # not their message
        assert not apply_dsn(session, raw).applied
    with runtime.tenant(tenant.company_id) as session:
        result = apply_dsn(session, raw)
    assert result.applied and result.message_id == mid
    assert result.bounced == (ghost,) and not result.message_bounced
    message = load(runtime, tenant.company_id, mid)
    by_address = {r.address: r for r in message.recipients}
    assert by_address[ghost].status is RecipientStatus.BOUNCED
    assert "5.1.1" in (by_address[ghost].reply or "") and by_address[ghost].code == 550
    assert by_address[good].status is RecipientStatus.ACCEPTED
    assert message.status is MessageStatus.SENT  # one recipient still got it


def test_a_message_whose_every_recipient_bounced_is_bounced(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    mailbox(mailenv, SENDER)
    ghost = _ghost(mailenv)
    account = make_account(
        runtime,
        tenant.company_id,
        email_address=SENDER,
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=SENDER,
        password=MAILBOX_PASSWORD,
    )
    mid = enqueue(runtime, tenant.company_id, account, [ghost], sender=SENDER)
    run_engine(runtime)
    raw = _wait_for_bounce(
        mailenv.maildir(SENDER), load(runtime, tenant.company_id, mid).message_id
    )
    with runtime.tenant(tenant.company_id) as session:
        result = apply_dsn(session, raw)
        assert result.message_bounced
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == mid))
        assert message is not None and message.status is MessageStatus.BOUNCED
        assert ghost in (message.last_reply or "")
