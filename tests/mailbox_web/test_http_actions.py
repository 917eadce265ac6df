"""The mail pages' message actions over HTTP against the real Dovecot: delete, restore, purge
(and who may), move, read/unread and flagged, bulk; refusals in the API's words."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models import Account, User
from postroom.enums import Language, Role
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.conftest import Mailbox
from tests.mailbox.support import messages_of, server_messages
from tests.mailbox_web.support import act, done_of, login, text_of
from tests.support import Tenant

API = "/api/v1"


def _inbox_ids(runtime: Runtime, tenant: Tenant, mailbox: Mailbox) -> list[int]:
    inbox = mailbox.folders["INBOX"]
    rows = messages_of(runtime, tenant.company_id, mailbox.account_id)
    return [m.id for m in rows if m.folder_id == inbox]


def _folder_of(runtime: Runtime, tenant: Tenant, mailbox: Mailbox, mail_id: int) -> int:
    rows = messages_of(runtime, tenant.company_id, mailbox.account_id)
    return next(m.folder_id for m in rows if m.id == mail_id)


def test_bulk_delete_restore_and_purge_reach_the_server(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    inbox, trash = imap_mailbox.folders["INBOX"], imap_mailbox.folders["Trash"]
    first, second, third = _inbox_ids(runtime, tenant, imap_mailbox)
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account)
            .where(Account.id == imap_mailbox.account_id)
            .values(delete_on_server_when_purged=True)
        )
    csrf = login(client, tenant.admin)
    page = client.get(f"/mail?folder={inbox}").text
    assert f'name="ids" value="{first}"' in page and 'value="delete"' in page

    deleted = act(client, csrf, "delete", [first, second], back=f"/mail?folder={inbox}")

    assert done_of(deleted) == {"folder": [str(inbox)], "done": ["deleted"], "n": ["2"]}
    shown = client.get(deleted.headers["location"])
    assert "Przeniesiono do kosza: 2" in text_of(shown.text)
    assert len(server_messages(mailenv, imap_mailbox.address, "Trash")) == 2
    assert len(server_messages(mailenv, imap_mailbox.address, "INBOX")) == 1
    trash_page = client.get(f"/mail?folder={trash}").text
    assert 'value="restore"' in trash_page and 'value="purge"' in trash_page
    assert 'value="delete"' not in trash_page

    restored = act(client, csrf, "restore", [second], back=f"/mail?folder={trash}")
    assert done_of(restored)["done"] == ["restored"]
    assert _folder_of(runtime, tenant, imap_mailbox, second) == inbox
    assert len(server_messages(mailenv, imap_mailbox.address, "INBOX")) == 2

    purged = act(client, csrf, "purge", [first], back=f"/mail?folder={trash}")
    assert done_of(purged) == {"folder": [str(trash)], "done": ["purged"], "n": ["1"]}
    remaining = [m.id for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)]
    assert first not in remaining and {second, third} <= set(remaining)
    assert server_messages(mailenv, imap_mailbox.address, "Trash") == {}

    # What the API refuses, the page refuses with the same sentence: purging outside Trash.
    refused = act(client, csrf, "purge", [third], back=f"/mail?folder={inbox}")
    assert refused.status_code == 409
    api = client.post(f"{API}/mail/{third}/purge", headers=tenant.admin.headers)
    assert api.status_code == 409
    assert api.json()["detail"] in text_of(refused.text)
    assert "Nie usunięto wiadomości trwale." in text_of(refused.text)


def test_purge_only_with_the_permission_and_the_page_says_who_may(
    client: TestClient, runtime: Runtime, tenant: Tenant, imap_mailbox: Mailbox
) -> None:
    trash = imap_mailbox.folders["Trash"]
    first = _inbox_ids(runtime, tenant, imap_mailbox)[0]
    assert client.post(f"{API}/mail/{first}/delete", headers=tenant.admin.headers).is_success
    plain = tenant.add_user(Role.USER)
    csrf = login(client, plain)

    trash_page = text_of(client.get(f"/mail?folder={trash}").text)
    assert 'value="purge"' not in client.get(f"/mail?folder={trash}").text
    assert "wymaga uprawnienia „trwałe usuwanie poczty”" in trash_page
    assert tenant.admin.email in trash_page

    refused = act(client, csrf, "purge", [first], back=f"/mail?folder={trash}")
    assert refused.status_code == 403
    assert "Mogą to zrobić administratorzy firmy" in text_of(refused.text)
    assert first in [m.id for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)]

    # In English the page shows the API's own sentence, word for word.
    with runtime.tenant(tenant.company_id) as session:
        session.execute(update(User).where(User.id == plain.id).values(language=Language.EN))
    api = client.post(f"{API}/mail/{first}/purge", headers=plain.headers)
    assert api.status_code == 403 and api.json()["code"] == "purge_not_allowed"
    english = act(client, csrf, "purge", [first], back=f"/mail?folder={trash}")
    assert english.status_code == 403
    assert api.json()["detail"] in text_of(english.text)
    assert api.json()["detail"] in text_of(client.get(f"/mail?folder={trash}").text)

    permitted = tenant.add_user(Role.USER, can_purge_mail=True)
    csrf = login(client, permitted)
    assert 'value="purge"' in client.get(f"/mail?folder={trash}").text
    purged = act(client, csrf, "purge", [first], back=f"/mail?folder={trash}")
    assert done_of(purged)["done"] == ["purged"]


def test_move_and_flags_from_the_list_and_from_a_message(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    inbox, trash = imap_mailbox.folders["INBOX"], imap_mailbox.folders["Trash"]
    first, second, third = _inbox_ids(runtime, tenant, imap_mailbox)
    csrf = login(client, tenant.admin)
    page = client.get(f"/mail?folder={inbox}").text
    picker = page.split('<select id="move-to"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{trash}">' in picker and f'<option value="{inbox}">' not in picker

    read = act(client, csrf, "read", [first, second], back=f"/mail?folder={inbox}")
    assert done_of(read)["done"] == ["read"]
    flagged = act(client, csrf, "flag", [second], back=f"/mail?folder={inbox}")
    assert done_of(flagged)["done"] == ["flagged"]
    on_server = server_messages(mailenv, imap_mailbox.address, "INBOX")
    flags = sorted((sorted(m["flags"]) for m in on_server.values()), key=len)
    assert flags == [[], ["\\Seen"], ["\\Flagged", "\\Seen"]]
    assert 'class="mail-row is-flagged"' in client.get(f"/mail?folder={inbox}").text

    # From a message's page: the flag keeps it open; "unread" goes back to its folder.
    unflag = act(
        client, csrf, "unflag", [second], back=f"/mail?folder={inbox}", stay=f"/mail/{second}"
    )
    assert unflag.headers["location"].startswith(f"/mail/{second}?")
    unread = act(
        client, csrf, "unread", [second], back=f"/mail?folder={inbox}", stay=f"/mail/{second}"
    )
    assert unread.headers["location"].startswith("/mail?")
    assert not any(
        "\\Flagged" in m["flags"]
        for m in server_messages(mailenv, imap_mailbox.address, "INBOX").values()
    )

    moved = act(client, csrf, "move", [third], back=f"/mail?folder={inbox}", folder_id=trash)
    assert done_of(moved)["done"] == ["moved"]
    assert _folder_of(runtime, tenant, imap_mailbox, third) == trash
    assert len(server_messages(mailenv, imap_mailbox.address, "Trash")) == 1

    nothing = act(client, csrf, "delete", [], back=f"/mail?folder={inbox}")
    assert nothing.status_code == 422
    assert "Najpierw zaznacz co najmniej jedną wiadomość." in text_of(nothing.text)
    no_folder = act(client, csrf, "move", [first], back=f"/mail?folder={inbox}", folder_id="")
    assert no_folder.status_code == 422
    assert "Wybierz folder, do którego przenieść wiadomości." in text_of(no_folder.text)
    # A folder of another account: the service's sentence, as the API gives it.
    other_account = imap_mailbox.account_id + 1000
    wrong = act(
        client,
        csrf,
        "move",
        [first],
        back=f"/mail/{first}",
        stay=f"/mail/{first}",
        folder_id=other_account,
    )
    assert wrong.status_code == 422
    assert f"Folder {other_account} is not a folder of this message's account." in text_of(
        wrong.text
    )
    assert 'class="mail-message-actions"' in wrong.text  # shown on the message's page


def test_the_message_page_offers_its_actions(
    client: TestClient, runtime: Runtime, tenant: Tenant, imap_mailbox: Mailbox
) -> None:
    first = _inbox_ids(runtime, tenant, imap_mailbox)[0]
    csrf = login(client, tenant.admin)
    page = client.get(f"/mail/{first}").text
    assert f'<input type="hidden" name="ids" value="{first}">' in page
    for action in ("delete", "unread", "flag", "move"):
        assert f'value="{action}"' in page
    deleted = act(
        client,
        csrf,
        "delete",
        [first],
        back=f"/mail?folder={imap_mailbox.folders['INBOX']}",
        stay=f"/mail/{first}",
    )
    assert done_of(deleted)["done"] == ["deleted"]
    in_trash = client.get(f"/mail/{first}").text
    assert 'value="restore"' in in_trash and 'value="purge"' in in_trash


def test_another_companys_messages_are_not_found_and_forms_need_the_token(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    imap_mailbox: Mailbox,
) -> None:
    theirs = _inbox_ids(runtime, tenant, imap_mailbox)
    trash = imap_mailbox.folders["Trash"]
    csrf = login(client, other_tenant.admin)
    for action, extra in (
        ("delete", {}),
        ("restore", {}),
        ("purge", {}),
        ("read", {}),
        ("flag", {}),
        ("move", {"folder_id": trash}),
    ):
        response = act(client, csrf, action, theirs[:1], back="/mail", **extra)
        assert response.status_code == 404, (action, response.text)
    assert client.get(f"/mail/{theirs[0]}").status_code == 404
    login(client, tenant.admin)
    forged = client.post(
        "/mail/actions", data={"ids": theirs[:1], "action": "delete"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert len(_inbox_ids(runtime, tenant, imap_mailbox)) == 3
