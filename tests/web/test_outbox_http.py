"""The outbox pages over plain HTTP: visibility, filters, paging, refreshing, the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from postroom.db.base import utcnow
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import (
    AccessMode,
    AttemptOutcome,
    EmailMode,
    MessageStatus,
    RecipientStatus,
    SentCopyStatus,
)
from postroom.services.runtime import Runtime
from tests.support import Tenant
from tests.web.conftest import web_login
from tests.web.sending_support import add_account, email_on, ids_on, queue, record_attempt


def test_the_outbox_lists_what_the_user_may_see_newest_first(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    user = tenant.add_user()
    mine = add_account(runtime, tenant, "anna@alfa.example.test", owner=user.id)
    # A company account only the administrator may use: its mail is not the user's to see.
    closed = add_account(runtime, tenant, "zarzad@alfa.example.test", access_mode=AccessMode.LISTED)
    first = queue(runtime, tenant, user, mine, subject="Faktura 1/2026")
    hidden = queue(runtime, tenant, tenant.admin, closed, subject="Poufne: wynagrodzenia")
    second = queue(runtime, tenant, user, mine, subject="Faktura 2/2026", kind="invoice")

    web_login(client, user)
    page = client.get("/outbox").text
    assert ids_on(page) == [second, first]
    assert "Poufne" not in page
    assert "Faktura" in page and "W kolejce" in page  # the document kind and the status
    for path in (f"/outbox/{hidden}", f"/outbox/{hidden}/raw"):
        response = client.get(path)
        assert response.status_code == 404 and "Poufne" not in response.text

    client.cookies.clear()
    web_login(client, tenant.admin)  # an administrator sees the company's mail
    assert ids_on(client.get("/outbox").text) == [second, hidden, first]


def test_another_companys_message_is_not_found(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    email_on(runtime, other_tenant)
    theirs = add_account(runtime, other_tenant, "tajne@beta.example.test")
    foreign = queue(runtime, other_tenant, other_tenant.admin, theirs, subject="Beta: umowa")
    web_login(client, tenant.admin)
    for path in (f"/outbox/{foreign}", f"/outbox/{foreign}/raw"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Beta: umowa" not in response.text and "tajne@beta" not in response.text
    assert ids_on(client.get("/outbox").text) == []


def test_status_filter_and_paging(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    email_on(runtime, tenant)
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    queued = [queue(runtime, tenant, tenant.admin, account) for _ in range(26)]
    failed = queue(runtime, tenant, tenant.admin, account, subject="Odrzucona")
    record_attempt(
        runtime,
        tenant,
        failed,
        AttemptOutcome.PERMANENT_FAILURE,
        550,
        "5.1.1 <jan@klient.example.test>: Recipient address rejected",
        status=MessageStatus.FAILED,
    )
    web_login(client, tenant.admin)

    only_failed = client.get("/outbox?status=failed").text
    assert ids_on(only_failed) == [failed]
    assert "5.1.1 &lt;jan@klient.example.test&gt;: Recipient address rejected" in only_failed
    assert '<span class="mono">550</span>' in only_failed

    first_page = client.get("/outbox").text
    assert ids_on(first_page) == [failed, *reversed(queued)][:25]
    assert "1–25 z 27" in first_page and 'href="/outbox?page=2"' in first_page
    assert ids_on(client.get("/outbox?page=2").text) == queued[:2][::-1]
    assert ids_on(client.get("/outbox?status=queued&page=2").text) == [queued[0]]


def test_the_list_refreshes_itself_only_while_mail_is_on_its_way(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    message = queue(runtime, tenant, tenant.admin, account)
    web_login(client, tenant.admin)
    partial = {"HX-Request": "true", "HX-Target": "outbox-results"}
    waiting = client.get("/outbox?status=sent", headers=partial).text
    assert waiting.startswith('<div id="outbox-results" hx-get="/outbox?status=sent"')
    assert 'hx-trigger="every 3s"' in waiting  # the queued one may soon be sent
    assert "<html" not in waiting  # only the results, for htmx to swap

    record_attempt(
        runtime,
        tenant,
        message,
        AttemptOutcome.SENT,
        250,
        "2.0.0 Ok: queued as 4Xk2",
        status=MessageStatus.SENT,
        sent_at=utcnow(),
    )
    done = client.get("/outbox", headers=partial).text
    assert "hx-trigger" not in done and "data-refreshing" not in done
    assert "Wysłana" in done and "2.0.0 Ok: queued as 4Xk2" in done


def test_the_timeline_shows_each_attempt_the_retry_the_copy_and_a_bounce(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant, EmailMode.OWN)
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    message = queue(
        runtime,
        tenant,
        tenant.admin,
        account,
        subject="Nota odsetkowa",
        to=["jan@klient.example.test", "zly@klient.example.test"],
    )
    retry_at = utcnow() + timedelta(minutes=5)
    record_attempt(
        runtime,
        tenant,
        message,
        AttemptOutcome.TEMPORARY_FAILURE,
        451,
        "4.3.0 Try again later",
        status=MessageStatus.RETRYING,
        next_attempt_at=retry_at,
    )
    web_login(client, tenant.admin)
    retrying = client.get(f"/outbox/{message}").text
    assert "Próba 1" in retrying and "Błąd tymczasowy: wysyłka zostanie ponowiona" in retrying
    assert '<span class="mono reply-code">451</span>' in retrying
    assert "4.3.0 Try again later" in retrying
    assert 'data-event="retry"' in retrying and retry_at.isoformat() in retrying
    assert 'hx-trigger="every 3s"' in retrying  # waiting for the retry: the page refreshes

    record_attempt(
        runtime,
        tenant,
        message,
        AttemptOutcome.SENT,
        250,
        "2.0.0 Ok: queued as 7Yq1",
        status=MessageStatus.SENT,
        sent_at=utcnow(),
        sent_copy_status=SentCopyStatus.DONE,
    )
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(OutboxMessage, message)
        assert row is not None
        good, bad = row.recipients
        good.status, good.code, good.reply = RecipientStatus.ACCEPTED, 250, "2.1.5 Ok"
        bad.status, bad.code = RecipientStatus.BOUNCED, 550
        bad.reply = "5.1.1 <zly@klient.example.test>: User unknown in virtual mailbox table"
    page = client.get(f"/outbox/{message}").text
    events = re.findall(r'data-event="([^"]+)"', page)
    assert events == ["queued", "attempt-temporary", "attempt-ok", "sent", "copy-done", "bounced"]
    assert "Zapisana w folderze wysłanych konta." in page
    assert "Zwrot od zly@klient.example.test" in page
    assert "User unknown in virtual mailbox table" in page
    assert 'data-recipient-status="accepted"' in page and "2.1.5 Ok" in page
    assert "hx-trigger" not in page  # nothing more to wait for

    raw = client.get(f"/outbox/{message}/raw")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"] == f'attachment; filename="message-{message}.eml"'
    assert b"Subject: Nota odsetkowa" in raw.content


def test_a_permanent_failure_is_shown_with_the_servers_words(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    message = queue(runtime, tenant, tenant.admin, account)
    record_attempt(
        runtime,
        tenant,
        message,
        AttemptOutcome.PERMANENT_FAILURE,
        554,
        "5.7.1 Relay access denied",
        status=MessageStatus.FAILED,
    )
    web_login(client, tenant.admin)
    page = client.get(f"/outbox/{message}").text
    assert re.findall(r'data-event="([^"]+)"', page) == [
        "queued",
        "attempt-permanent",
        "failed",
    ]
    assert "Nie doręczono" in page and "5.7.1 Relay access denied" in page
    assert 'id="message-status" data-status="failed">Nieudana<' in page
