"""The operator's deliverability settings: refused at start-up when they could not work."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from postroom.config import Settings
from postroom.mail import dkim_keys
from postroom.mail.mime import Mailbox, build_message
from postroom.mail.mime_checks import MimeLimits
from postroom.services.relay_identity import RelayIdentity, apply_identity, platform_signer
from tests.mail.mime_support import draft, raw_headers


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"relay_dkim_selector": "platform"}, "go together"),
        ({"relay_dkim_private_key_file": "/nonexistent/key.pem"}, "go together"),
        (
            {"relay_dkim_selector": "p", "relay_dkim_private_key_file": "/nonexistent/key.pem"},
            "no file",
        ),
        ({"platform_name": "Postroom\r\nBcc: x@example.test"}, "control characters"),
        ({"dkim_selector": "zły selektor"}, "dkim_selector"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    tmp_path: Path, fields: dict[str, str], words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, **fields)  # type: ignore[arg-type]
    assert words in str(refused.value)


def test_a_platform_key_that_is_no_key_leaves_mail_unsigned_not_lost(tmp_path: Path) -> None:
    key_file = tmp_path / "dkim.pem"
    key_file.write_text("not a key", encoding="ascii")
    settings = Settings(
        data_dir=tmp_path,
        relay_host="relay.example.test",
        relay_from_address="relay@platform.example.test",
        relay_dkim_selector="platform",
        relay_dkim_private_key_file=key_file,
    )
    signer = platform_signer(settings)
    assert signer is not None and signer.domain == "platform.example.test"
    built = build_message(draft(sender=Mailbox("relay@platform.example.test")), limits=MimeLimits())
    identity = RelayIdentity("Alfa via Postroom", "relay@platform.example.test", None, signer)
    raw = apply_identity(built.raw, identity)
    assert not raw.startswith(b"DKIM-Signature")
    assert raw_headers(raw)["from"] == "Alfa via Postroom <relay@platform.example.test>"
    assert dkim_keys.key_in_record("v=DKIM1; k=rsa; p=AB CD\t EF") == "ABCDEF"
