"""In-app new-mail notifications (A7): who gets one, in which words, and the API to read them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from postroom.db.models import AccountGrant, User
from postroom.db.models_crm import Notification
from postroom.enums import AccessMode, FolderRole, Language, Role
from postroom.services.notifications import _polish_messages
from postroom.services.runtime import Runtime
from tests.newmail.support import arrive, message, rows, set_account
from tests.support import Member, Tenant
from tests.worker.outbox_support import make_account

ADDRESS = "biuro@alfa.example.test"


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 nowa wiadomość"),
        (2, "2 nowe wiadomości"),
        (4, "4 nowe wiadomości"),
        (5, "5 nowych wiadomości"),
        (12, "12 nowych wiadomości"),
        (22, "22 nowe wiadomości"),
        (25, "25 nowych wiadomości"),
        (112, "112 nowych wiadomości"),
    ],
)
def test_polish_counts_take_the_right_plural(count: int, words: str) -> None:
    assert _polish_messages(count) == words


def _listed_account(runtime: Runtime, tenant: Tenant, granted: Member) -> int:
    """A company account only `granted` (and administrators) may use."""
    account_id = make_account(
        runtime,
        tenant.company_id,
        email_address=ADDRESS,
        name="Biuro",
        access_mode=AccessMode.LISTED,
    )
    with runtime.tenant(tenant.company_id) as session:
        session.add(AccountGrant(account_id=account_id, user_id=granted.id))
    return account_id


def _titles(runtime: Runtime, tenant: Tenant) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for row in rows(runtime, tenant.company_id, Notification):
        found.setdefault(row.user_id, []).append(row.title)
    return found


def test_one_notification_per_fetch_for_each_user_who_may_see_the_account(
    runtime: Runtime, tenant: Tenant
) -> None:
    english = tenant.add_user(language=Language.EN)
    outsider = tenant.add_user()
    seer = tenant.add_user(can_see_others_accounts=True)  # sees personal accounts, not this one
    account_id = _listed_account(runtime, tenant, english)

    ids = arrive(runtime, tenant.company_id, account_id, [message(), message(), message()])

    titles = _titles(runtime, tenant)
    assert titles == {
        tenant.admin.id: [f"3 nowe wiadomości w Biuro <{ADDRESS}>"],
        english.id: [f"3 new messages in Biuro <{ADDRESS}>"],
    }
    assert outsider.id not in titles and seer.id not in titles
    row = rows(runtime, tenant.company_id, Notification)[0]
    assert (row.kind, row.count, row.account_id) == ("new_mail", 3, account_id)
    assert row.data == {"account_id": account_id, "message_ids": ids}


def test_a_personal_account_notifies_its_owner_and_those_who_see_others_accounts(
    runtime: Runtime, tenant: Tenant
) -> None:
    owner = tenant.add_user()
    seer = tenant.add_user(can_see_others_accounts=True)
    other = tenant.add_user()
    account_id = make_account(
        runtime, tenant.company_id, email_address="anna@alfa.example.test", owner_user_id=owner.id
    )
    arrive(runtime, tenant.company_id, account_id, [message(to="anna@alfa.example.test")])
    titles = _titles(runtime, tenant)
    assert set(titles) == {tenant.admin.id, owner.id, seer.id}
    assert other.id not in titles
    assert titles[owner.id] == ["1 nowa wiadomość w anna@alfa.example.test"]


def test_no_notification_when_switched_off_for_history_or_for_filed_copies(
    runtime: Runtime, tenant: Tenant
) -> None:
    account_id = make_account(runtime, tenant.company_id, email_address=ADDRESS)
    arrive(runtime, tenant.company_id, account_id, [message()], from_history=True)
    arrive(runtime, tenant.company_id, account_id, [message()], path="Sent", role=FolderRole.SENT)
    set_account(runtime, tenant.company_id, account_id, notifications=False)
    arrive(runtime, tenant.company_id, account_id, [message()])
    assert rows(runtime, tenant.company_id, Notification) == []


def test_inactive_users_get_none(runtime: Runtime, tenant: Tenant) -> None:
    gone = tenant.add_user(role=Role.ADMIN)
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, gone.id)
        assert user is not None
        user.active = False
    account_id = make_account(runtime, tenant.company_id, email_address=ADDRESS)
    arrive(runtime, tenant.company_id, account_id, [message()])
    assert set(_titles(runtime, tenant)) == {tenant.admin.id}


def test_the_api_lists_the_callers_notifications_and_marks_them_read(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user()
    account_id = _listed_account(runtime, tenant, user)
    arrive(runtime, tenant.company_id, account_id, [message()])
    arrive(runtime, tenant.company_id, account_id, [message(), message()])

    mine = client.get("/api/v1/notifications", headers=user.headers).json()
    assert (mine["total"], mine["unread"]) == (2, 2)
    newest, oldest = mine["items"]
    assert newest["count"] == 2 and oldest["count"] == 1
    assert newest["title"] == f"2 nowe wiadomości w Biuro <{ADDRESS}>"
    admins = client.get("/api/v1/notifications", headers=tenant.admin.headers).json()
    assert {item["id"] for item in admins["items"]}.isdisjoint({newest["id"], oldest["id"]})

    # Someone else's notification does not exist for the caller.
    response = client.post(
        f"/api/v1/notifications/{newest['id']}/read", headers=tenant.admin.headers
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"

    read = client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=user.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=true", headers=user.headers).json()
    assert [item["id"] for item in unread["items"]] == [newest["id"]]
    assert unread["unread"] == 1
    was_read = client.get("/api/v1/notifications?unread=false", headers=user.headers).json()
    assert [item["id"] for item in was_read["items"]] == [oldest["id"]]

    marked = client.post("/api/v1/notifications/read-all", headers=user.headers).json()
    assert marked == {"marked": 1}
    after = client.get("/api/v1/notifications", headers=user.headers).json()
    assert after["unread"] == 0 and after["total"] == 2
    admins_after = client.get("/api/v1/notifications", headers=tenant.admin.headers).json()
    assert admins_after["unread"] == 2  # read-all touched only the caller's


def test_the_unread_filter_must_be_a_boolean(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/v1/notifications?unread=maybe", headers=tenant.admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "unread"
