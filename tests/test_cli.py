"""The `postroom` command line: the demo path, tokens, key rotation, and `serve` for real."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from postroom.cli import main
from postroom.config import Settings
from postroom.db.models import Account
from postroom.db.models_crm import WebhookEndpoint
from postroom.db.models_domains import SenderDomain
from postroom.secrets import Secret, SecretBox, parse_keys
from postroom.services import accounts
from postroom.services.account_schemas import AccountCreate
from postroom.services.runtime import build_runtime
from tests.support import MAILBOX_PASSWORD, USER_PASSWORD


def _env(settings: Settings, *, with_key: bool = True) -> dict[str, str]:
    env = {
        "POSTROOM_DATA_DIR": str(settings.data_dir),
        "POSTROOM_DATABASE_URL": settings.effective_database_url,
    }
    if with_key and settings.secret_key is not None:
        env["POSTROOM_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "worker", "db", "company", "user", "token", "secrets"):
        assert re.search(rf"^\s+{command}\s", result.output, re.MULTILINE), command
    for sub in (
        ["serve"],
        ["worker"],
        ["db", "upgrade"],
        ["company", "create"],
        ["user", "create"],
        ["token", "create"],
        ["secrets", "rotate"],
    ):
        assert CliRunner().invoke(main, [*sub, "--help"]).exit_code == 0, sub


def test_demo_path_company_admin_token(settings: Settings) -> None:
    runner = CliRunner(env=_env(settings))
    assert "up to date" in runner.invoke(main, ["db", "upgrade"]).output
    created = runner.invoke(main, ["company", "create", "--name", "Biuro Demo"])
    assert created.exit_code == 0, created.output
    company_id = re.search(r"Created company (\d+)", created.output)
    assert company_id is not None
    user = runner.invoke(
        main,
        [
            "user",
            "create",
            "--company",
            company_id.group(1),
            "--email",
            "Szef@Demo.example.test",
            "--admin",
            "--password-stdin",
        ],
        input=USER_PASSWORD + "\n",
    )
    assert user.exit_code == 0, user.output
    assert "szef@demo.example.test" in user.output and USER_PASSWORD not in user.output
    token = runner.invoke(main, ["token", "create", "--user", "szef@demo.example.test"])
    assert token.exit_code == 0 and token.output.startswith("pr_")
    missing = runner.invoke(main, ["token", "create", "--user", "nobody@demo.example.test"])
    assert missing.exit_code != 0 and "No user" in missing.output


def test_user_create_errors_are_clear(settings: Settings) -> None:
    runner = CliRunner(env=_env(settings))
    runner.invoke(main, ["company", "create", "--name", "X"])
    short = runner.invoke(
        main,
        ["user", "create", "--company", "1", "--email", "a@x.example.test", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    unknown = runner.invoke(
        main,
        ["user", "create", "--company", "99", "--email", "a@x.example.test", "--password-stdin"],
        input=USER_PASSWORD,
    )
    assert unknown.exit_code == 1 and "Company 99 does not exist" in unknown.output


WEBHOOK_SECRET = "whsec-rotation-test"
DKIM_KEY = "-----BEGIN PRIVATE KEY-----rotation-test"


def test_secrets_rotate_reencrypts_with_a_new_key(settings: Settings) -> None:
    env = _env(settings, with_key=False)  # the key file in the data directory
    runner = CliRunner(env=env)
    runner.invoke(main, ["company", "create", "--name", "Rot"])
    file_settings = Settings(data_dir=settings.data_dir, database_url=settings.database_url)
    runtime = build_runtime(file_settings)
    with runtime.tenant(1) as session:
        accounts.create_account(
            session,
            actor=None,
            company_id=1,
            box=runtime.secret_box,
            data=AccountCreate(
                email_address="a@rot.example.test",
                smtp_host="smtp.example.test",
                smtp_password=MAILBOX_PASSWORD,
            ),
        )
        # Company secrets besides the accounts': a webhook's signing key, a DKIM private key.
        session.add(
            WebhookEndpoint(
                company_id=1,
                url="https://host.example.test/hook",
                secret_encrypted=runtime.secret_box.encrypt(Secret(WEBHOOK_SECRET)),
            )
        )
        session.add(
            SenderDomain(
                company_id=1,
                domain="rot.example.test",
                dkim_selector="postroom",
                dkim_private_key_encrypted=runtime.secret_box.encrypt(Secret(DKIM_KEY)),
                dkim_public_key="MIIB",
            )
        )
    with runtime.platform() as session:
        before = session.scalar(select(Account.smtp_password_encrypted))
    result = runner.invoke(main, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 3 secrets" in result.output
    keys = parse_keys(file_settings.key_file.read_text())
    assert len(keys) == 2
    with runtime.platform() as session:
        after = session.scalar(select(Account.smtp_password_encrypted))
        hook = session.scalar(select(WebhookEndpoint.secret_encrypted))
        dkim = session.scalar(select(SenderDomain.dkim_private_key_encrypted))
    runtime.close()
    assert after is not None and after != before
    newest = SecretBox(keys[:1])
    assert newest.decrypt(after).reveal() == MAILBOX_PASSWORD
    assert hook is not None and newest.decrypt(hook).reveal() == WEBHOOK_SECRET
    assert dkim is not None and newest.decrypt(dkim).reveal() == DKIM_KEY


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_creates_schema_and_explains_login(tmp_path: Path) -> None:
    """`postroom serve` on an empty data directory: schema, key file, web UI and API answer."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
    env.update(POSTROOM_DATA_DIR=str(tmp_path / "data"), POSTROOM_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "postroom", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("postroom serve did not answer within 30 s")
        login = httpx.get(f"{base}/login")
        assert login.status_code == 200 and "password" in login.text
        assert (tmp_path / "data" / "postroom.db").exists()
        assert stat_mode(tmp_path / "data" / "secret.key") == 0o600
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "postroom company create" in output and f"127.0.0.1:{port}" in output


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
