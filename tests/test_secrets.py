"""A12: secrets are encrypted at rest, rotate to new keys, and never show up anywhere."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text

from postroom.config import Settings
from postroom.db.models import Account
from postroom.secrets import REDACTED, Secret, SecretBox, SecretKeyError, new_key
from postroom.services.runtime import Runtime, build_runtime
from tests.api.helpers import create_account, imap_settings, mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import APP_PASSWORD, INCOMING_PASSWORD, MAILBOX_PASSWORD, Tenant, find_leaks


def test_secret_never_shows_in_repr_or_str() -> None:
    secret = Secret(MAILBOX_PASSWORD)
    assert MAILBOX_PASSWORD not in repr(secret) and MAILBOX_PASSWORD not in f"{secret}"
    assert REDACTED in repr(secret)
    assert secret.reveal() == MAILBOX_PASSWORD


def test_box_decrypts_with_old_keys_and_rotates_to_the_new_one() -> None:
    old, new = new_key(), new_key()
    token = SecretBox([old]).encrypt(Secret(MAILBOX_PASSWORD))
    both = SecretBox([new, old])
    assert both.decrypt(token).reveal() == MAILBOX_PASSWORD
    rotated = both.rotate(token)
    assert SecretBox([new]).decrypt(rotated).reveal() == MAILBOX_PASSWORD
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox([new]).decrypt(token)


def test_invalid_key_is_a_clear_error() -> None:
    with pytest.raises(SecretKeyError, match="not a valid Fernet key"):
        SecretBox(["not-a-key"])


def test_key_file_is_created_private_on_first_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    runtime = build_runtime(settings)
    runtime.close()
    mode = stat.S_IMODE(settings.key_file.stat().st_mode)
    assert mode == 0o600
    assert len(settings.key_file.read_text().split()) == 1


def _stored_text(runtime: Runtime) -> bytes:
    """Every value in every table as text (PostgreSQL), or the raw database files (SQLite)."""
    url = runtime.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks = []
    with runtime.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
            chunks += [row[0].encode() for row in rows]
    return b"\n".join(chunks)


def test_secrets_never_reach_responses_logs_history_or_the_database(
    client: TestClient,
    tenant: Tenant,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    mailenv: MailEnv,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = tenant.admin.headers
    responses = []
    # Logins of their own: the passwords change below, and each change is tested before saving.
    smtp_login, imap_login = "secrets-out@alfa.example.test", "secrets-in@alfa.example.test"
    account = create_account(
        client,
        tenant.admin,
        mailenv,
        smtp_username=smtp_login,
        smtp_password=MAILBOX_PASSWORD,
        **imap_settings(mailenv, incoming_username=imap_login, incoming_password=INCOMING_PASSWORD),
    )
    url = f"/api/v1/accounts/{account['id']}"
    mailbox(mailenv, smtp_login, APP_PASSWORD)  # the user made an app password
    responses.append(client.patch(url, headers=headers, json={"smtp_password": APP_PASSWORD}))
    # Refused requests must not echo a secret either: wrong type, invalid neighbour field.
    responses.append(client.patch(url, headers=headers, json={"smtp_password": [APP_PASSWORD]}))
    responses.append(
        client.patch(url, headers=headers, json={"smtp_password": APP_PASSWORD, "smtp_port": -1})
    )
    responses.append(
        client.post(
            "/api/v1/accounts",
            headers=headers,
            json={
                "email_address": APP_PASSWORD,
                "smtp_host": "h",
                "smtp_password": MAILBOX_PASSWORD,
            },
        )
    )
    responses.append(client.get(url, headers=headers))
    responses.append(client.get(f"{url}/history", headers=headers))
    responses.append(client.get("/api/v1/accounts", headers=headers))
    seen = "\n".join(r.text for r in responses) + "\n" + caplog.text
    stored = _stored_text(runtime)
    for secret in (MAILBOX_PASSWORD, INCOMING_PASSWORD):
        assert secret not in seen
        assert secret.encode() not in stored
    assert APP_PASSWORD not in "\n".join(r.text for r in responses[:3] + responses[4:])
    # The encrypted value is there and decrypts to the latest password.
    with runtime.tenant(tenant.company_id) as session:
        token = session.scalar(select(Account.smtp_password_encrypted))
        assert token is not None
        assert runtime.secret_box.decrypt(token).reveal() == APP_PASSWORD


def test_leak_finder_finds_a_planted_secret(tmp_path: Path) -> None:
    """The run-wide check (conftest) relies on this; it must be able to fail."""
    planted = tmp_path / "planted.bin"
    planted.write_bytes(b"\x00\x01" + MAILBOX_PASSWORD.encode() + b"\x00")
    assert find_leaks([planted], [MAILBOX_PASSWORD]) == [f"{MAILBOX_PASSWORD!r} in {planted}"]
    assert find_leaks([planted], [INCOMING_PASSWORD]) == []
