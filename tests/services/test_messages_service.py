"""submit_message without HTTP: the same idempotency key from several requests at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from postroom.db.models import User
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import EmailMode
from postroom.services import messages
from postroom.services.message_schemas import MessageCreate
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import add_account
from tests.services.relay_support import set_company
from tests.support import Tenant

REQUESTS = 6


def _at_once(work: Callable[[], int]) -> list[int | BaseException]:
    results: list[int | BaseException] = []
    start = threading.Barrier(REQUESTS)

    def run() -> None:
        start.wait()
        try:
            results.append(work())
        except BaseException as exc:  # reported below with the others
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_one_key_sent_at_once_makes_one_message(runtime: Runtime, tenant: Tenant) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.OWN)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    request = MessageCreate.model_validate(
        {"to": ["jan@example.test"], "subject": "Faktura 9", "idempotency_key": "fv-9"}
    )

    def submit() -> int:
        with runtime.tenant(tenant.company_id) as session:
            actor = session.get(User, tenant.admin.id)
            assert actor is not None
            row = messages.submit_message(session, actor=actor, request=request, runtime=runtime)
            session.flush()
            return row.id

    results = _at_once(submit)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(set(results)) == 1
    with runtime.tenant(tenant.company_id) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
