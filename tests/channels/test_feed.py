"""The in-app feed (F1): a host application reads and marks a contact person's notifications;
a user's own feed stays theirs; another company's contacts do not exist."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from postroom.db.models_crm import Notification
from postroom.services.runtime import Runtime
from tests.channels.support import API, make_client, make_contact, notify, ok
from tests.support import Member, Tenant


def _feed(api: TestClient, member: Member, **params: Any) -> Any:
    return ok(api.get(f"{API}/notifications", headers=member.headers, params=params))


def _two_contacts(api: TestClient, tenant: Tenant) -> tuple[int, int]:
    created = make_client(api, tenant.admin)
    anna = make_contact(api, tenant.admin, created["id"], "anna@klient.example.test")
    jan = make_contact(api, tenant.admin, created["id"], "jan@klient.example.test")
    ok(notify(api, tenant.admin, created["id"], subject="Pierwsza"))
    ok(notify(api, tenant.admin, created["id"], subject="Druga", url="https://x.example.test/2"))
    return anna["id"], jan["id"]


def _own_notification(runtime: Runtime, tenant: Tenant, user_id: int) -> int:
    with runtime.tenant(tenant.company_id) as session:
        row = Notification(user_id=user_id, kind="new_mail", title="1 nowa wiadomość")
        session.add(row)
        session.flush()
        return row.id


def test_a_contacts_feed_lists_their_notifications_newest_first(
    api: TestClient, tenant: Tenant
) -> None:
    anna, jan = _two_contacts(api, tenant)
    feed = _feed(api, tenant.admin, contact_id=anna)
    assert (feed["total"], feed["unread"]) == (2, 2)
    assert [n["title"] for n in feed["items"]] == ["Druga", "Pierwsza"]
    first = feed["items"][0]
    assert (first["kind"], first["contact_id"], first["link"]) == (
        "client_message",
        anna,
        "https://x.example.test/2",
    )
    assert first["body"] == "Prosimy o wpłatę do 25.11."
    assert _feed(api, tenant.admin, contact_id=jan)["total"] == 2
    # Any user of the company (the host application's token) may read a contact's feed.
    user = tenant.add_user()
    assert _feed(api, user, contact_id=anna)["total"] == 2


def test_marking_read_is_per_feed(api: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    anna, jan = _two_contacts(api, tenant)
    own = _own_notification(runtime, tenant, tenant.admin.id)
    annas = _feed(api, tenant.admin, contact_id=anna)["items"]
    url = f"{API}/notifications/{annas[0]['id']}/read"

    wrong_feed = api.post(url, headers=tenant.admin.headers, params={"contact_id": jan})
    assert wrong_feed.status_code == 404
    as_own = api.post(url, headers=tenant.admin.headers)  # not the caller's own notification
    assert as_own.status_code == 404
    marked = ok(api.post(url, headers=tenant.admin.headers, params={"contact_id": anna}))
    assert marked["read_at"] is not None
    assert _feed(api, tenant.admin, contact_id=anna, unread=True)["total"] == 1
    assert _feed(api, tenant.admin, contact_id=anna, unread=False)["total"] == 1

    read_all = ok(
        api.post(
            f"{API}/notifications/read-all",
            headers=tenant.admin.headers,
            params={"contact_id": anna},
        )
    )
    assert read_all == {"marked": 1}
    assert _feed(api, tenant.admin, contact_id=anna)["unread"] == 0
    assert _feed(api, tenant.admin, contact_id=jan)["unread"] == 2  # another feed: untouched
    own_feed = _feed(api, tenant.admin)
    assert [(n["id"], n["read_at"]) for n in own_feed["items"]] == [(own, None)]


def test_a_users_own_feed_holds_only_their_notifications(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _two_contacts(api, tenant)
    user = tenant.add_user()
    mine = _own_notification(runtime, tenant, user.id)
    _own_notification(runtime, tenant, tenant.admin.id)
    feed = _feed(api, user)
    assert [n["id"] for n in feed["items"]] == [mine]
    assert feed["items"][0]["contact_id"] is None
    ok(api.post(f"{API}/notifications/{mine}/read", headers=user.headers))
    assert ok(api.post(f"{API}/notifications/read-all", headers=user.headers)) == {"marked": 0}
    assert _feed(api, tenant.admin)["unread"] == 1


def test_another_companys_contact_feed_does_not_exist(
    api: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs, _ = _two_contacts(api, other_tenant)
    their_row = _feed(api, other_tenant.admin, contact_id=theirs)["items"][0]["id"]
    headers = tenant.admin.headers
    params = {"contact_id": theirs}
    assert api.get(f"{API}/notifications", headers=headers, params=params).status_code == 404
    read = api.post(f"{API}/notifications/{their_row}/read", headers=headers, params=params)
    assert read.status_code == 404
    read_all = api.post(f"{API}/notifications/read-all", headers=headers, params=params)
    assert read_all.status_code == 404
    stream = api.get(f"{API}/notifications/stream", headers=headers, params=params)
    assert stream.status_code == 404
    assert api.get(f"{API}/notifications/stream").status_code == 401
    assert _feed(api, other_tenant.admin, contact_id=theirs)["unread"] == 2
    missing = api.get(f"{API}/notifications", headers=headers, params={"contact_id": 999_999})
    assert missing.status_code == 404
