"""POP3 servers whose LIST sizes are not what they send: every message still arrives exactly."""

from __future__ import annotations

import hashlib

import pytest

from postroom.enums import IncomingProtocol, Security
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.pop3_server import Pop3Server, running
from tests.sync.support import fetch, make_account, stored


def _messages() -> list[bytes]:
    """Big enough to be read as one block, with lines that need dot-stuffing."""
    body = b"".join(b"Linia %d tresci faktury, kwota 123,45 zl.\r\n" % n for n in range(300))
    return [
        b"From: a@example.test\r\nSubject: Kropki %d\r\nMessage-ID: <dots-%d@example.test>\r\n\r\n"
        % (n, n)
        + b".kropka na poczatku\r\n..dwie kropki\r\n"
        + body
        + b".\r\n"  # a line of one dot inside the message
        + b"koniec\r\n"
        for n in range(4)
    ]


@pytest.mark.parametrize("size_error", [0, -700, 5000], ids=["exact", "smaller", "larger"])
def test_messages_arrive_exactly_whatever_the_announced_size(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv, size_error: int
) -> None:
    raws = _messages()
    with running(Pop3Server(raws, size_error=size_error)) as server:
        account_id = make_account(
            runtime,
            tenant.company_id,
            mailenv,
            "pop@example.test",
            protocol=IncomingProtocol.POP3,
            incoming_host="127.0.0.1",
            incoming_port=server.port,
            incoming_security=Security.NONE,
        )
        result = fetch(runtime, tenant.company_id, account_id)

    assert result.error is None and result.new_messages == 4
    # Sizes over the slack: the block read ran past the end, so it was read again line by line.
    assert len(server.retrieved) == (8 if size_error > 4096 else 4)
    got = {r.sha256 for r in stored(runtime, tenant.company_id, account_id)}
    assert got == {hashlib.sha256(raw).hexdigest() for raw in raws}
