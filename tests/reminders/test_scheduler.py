"""The scheduler: what goes out when, sending due reminders once, texts with the host's data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, update

from postroom.db.models import User
from postroom.db.models_channels import ReminderSend
from postroom.db.models_crm import Notification
from postroom.enums import Channel, Language, NoticeStatus, ReminderKind, TaxPeriod
from postroom.services import reminder_settings as rs
from postroom.services.reminder_data import ReminderFacts, upsert_reminder_data
from postroom.services.reminder_plan import plan_reminders
from postroom.services.reminder_scheduler import send_due_reminders
from postroom.services.reminder_settings import ReminderOverride
from postroom.services.runtime import Runtime
from postroom.services.template_filters import NBSP
from postroom.worker.loop import DEFAULT_JOBS
from tests.reminders.support import (
    communications_per_batch,
    feed_titles,
    make_client,
    morning,
    sends,
)
from tests.support import Tenant


def _plan(
    runtime: Runtime, company_id: int, start: date, end: date, today: date
) -> list[tuple[date, str, str, date]]:
    with runtime.tenant(company_id) as session:
        found = plan_reminders(session, start=start, end=end, today=today)
        return [(r.goes_out(today), r.kind.value, str(r.period), r.deadline) for r in found]


def test_defaults_plan_every_kind_three_days_before(runtime: Runtime, tenant: Tenant) -> None:
    make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    today = date(2026, 11, 1)
    assert _plan(runtime, tenant.company_id, today, date(2026, 11, 30), today) == [
        (date(2026, 11, 2), "documents", "2026-10", date(2026, 11, 5)),
        (date(2026, 11, 17), "income_tax", "2026-10", date(2026, 11, 20)),
        (date(2026, 11, 17), "zus", "2026-10", date(2026, 11, 20)),
        (date(2026, 11, 22), "vat", "2026-10", date(2026, 11, 25)),
    ]


def test_holiday_deadline_shifts_the_reminder(runtime: Runtime, tenant: Tenant) -> None:
    # Documents on the 11th: 2026-11-11 is Independence Day, so the deadline is the 12th and
    # the reminder (3 days before) goes out on the 9th.
    make_client(runtime, tenant.company_id, "Kwiaciarnia", documents_day=11)
    today = date(2026, 11, 1)
    planned = _plan(runtime, tenant.company_id, today, date(2026, 11, 10), today)
    assert (date(2026, 11, 9), "documents", "2026-10", date(2026, 11, 12)) in planned


def test_overrides_and_profile_change_the_plan(runtime: Runtime, tenant: Tenant) -> None:
    client_id = make_client(
        runtime,
        tenant.company_id,
        "Hurtownia Zeta",
        vat_period=TaxPeriod.QUARTERLY,
        income_tax_period=TaxPeriod.NONE,
        zus_day=15,
    )
    with runtime.tenant(tenant.company_id) as session:
        overrides = {
            ReminderKind.DOCUMENTS: ReminderOverride(enabled=False),
            ReminderKind.ZUS: ReminderOverride(days_before=10),
            ReminderKind.VAT: ReminderOverride(day_of_month=12),
        }
        for kind, override in overrides.items():
            rs.set_client_override(session, client_id=client_id, kind=kind, override=override)
    today = date(2026, 10, 1)
    assert _plan(runtime, tenant.company_id, today, date(2026, 10, 31), today) == [
        (date(2026, 10, 5), "zus", "2026-09", date(2026, 10, 15)),
        (date(2026, 10, 12), "vat", "2026-Q3", date(2026, 10, 26)),
    ]


def test_a_new_client_gets_no_reminders_of_past_deadlines(runtime: Runtime, tenant: Tenant) -> None:
    client_id = make_client(runtime, tenant.company_id, "Nowy Klient")
    # On 24 November the documents (5th), ZUS and income tax (20th) deadlines have passed;
    # VAT (25th) has not, and its send date (22nd) has: it goes out now, and only it.
    assert send_due_reminders(runtime, now=morning(date(2026, 11, 24))) == 1
    assert sends(runtime, tenant.company_id) == [(client_id, "vat", "2026-10")]
    with runtime.tenant(tenant.company_id) as session:
        row = session.scalars(select(ReminderSend)).one()
        assert (row.deadline, row.send_on, row.status) == (
            date(2026, 11, 25),
            date(2026, 11, 22),
            NoticeStatus.SENT,
        )


def test_reminders_due_today_wait_for_the_morning(runtime: Runtime, tenant: Tenant) -> None:
    make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    # 2 November 2026 06:30 in Warsaw (UTC+1): the documents reminder is due today, at 08:00.
    assert send_due_reminders(runtime, now=datetime(2026, 11, 2, 5, 30, tzinfo=UTC)) == 0
    assert send_due_reminders(runtime, now=datetime(2026, 11, 2, 7, 0, tzinfo=UTC)) == 1


def test_each_reminder_goes_out_once_over_every_enabled_channel(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    first = make_client(runtime, tenant.company_id, "Piekarnia Kowalski", contacts_count=2)
    second = make_client(runtime, tenant.company_id, "Apteka Centrum", channel_webpush=False)
    foreign = make_client(runtime, other_tenant.company_id, "Firma Obca")
    day = morning(date(2026, 11, 17))
    assert send_due_reminders(runtime, now=day) == 6  # (2 + 1 clients) × ZUS and income tax
    assert send_due_reminders(runtime, now=day) == 0  # a second run finds them sent
    expected = [
        (client, kind, "2026-10") for client in (first, second) for kind in ("income_tax", "zus")
    ]
    assert sends(runtime, tenant.company_id) == sorted(expected)
    assert sends(runtime, other_tenant.company_id) == [
        (foreign, "income_tax", "2026-10"),
        (foreign, "zus", "2026-10"),
    ]
    per_batch = communications_per_batch(runtime, tenant.company_id)
    assert set(per_batch.values()) == {1}
    channels: dict[str, set[Channel]] = {batch: set() for batch, _ in per_batch}
    for batch, channel in per_batch:
        channels[batch].add(channel)
    assert channels[f"reminder-{first}-zus-2026-10"] == {Channel.INAPP, Channel.WEBPUSH}
    assert channels[f"reminder-{second}-zus-2026-10"] == {Channel.INAPP}
    # In-app: one notification per contact person and reminder (2 + 1 contacts, 2 reminders).
    assert len(feed_titles(runtime, tenant.company_id)) == 6


def test_the_message_quotes_the_hosts_amount_and_documents(
    runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    with runtime.tenant(tenant.company_id) as session:
        upsert_reminder_data(
            session,
            client_id=client_id,
            kind=ReminderKind.VAT,
            period="2026-10",
            facts=ReminderFacts(amount=Decimal("1234.5"), currency="pln"),
        )
        upsert_reminder_data(
            session,
            client_id=client_id,
            kind=ReminderKind.DOCUMENTS,
            period="2026-11",
            facts=ReminderFacts(
                documents=["Faktury sprzedaży", "Wyciąg bankowy"], note="Prosimy o skany."
            ),
        )
    send_due_reminders(runtime, now=morning(date(2026, 11, 23)))  # VAT due 25.11
    send_due_reminders(runtime, now=morning(date(2026, 12, 4)))  # documents due 7.12
    with runtime.tenant(tenant.company_id) as session:
        notes = {n.title: n.body for n in session.scalars(select(Notification))}
    vat = next(body for title, body in notes.items() if "VAT" in title)
    assert "Przypomnienie: podatek VAT za 10.2026 – termin 25.11.2026" in notes
    assert f"1{NBSP}234,50{NBSP}zł" in vat and "25 listopada 2026" in vat
    documents = next(body for title, body in notes.items() if "dokumenty" in title)
    assert "- Faktury sprzedaży\n- Wyciąg bankowy" in documents
    assert "Prosimy o skany." in documents and "7 grudnia 2026" in documents


def test_texts_follow_the_offices_language(runtime: Runtime, tenant: Tenant) -> None:
    client_id = make_client(runtime, tenant.company_id, "Bakery Ltd")
    with runtime.tenant(tenant.company_id) as session:
        session.execute(update(User).values(language=Language.EN))
        upsert_reminder_data(
            session,
            client_id=client_id,
            kind=ReminderKind.ZUS,
            period="2026-10",
            facts=ReminderFacts(amount=Decimal("1800"), currency="PLN"),
        )
    send_due_reminders(runtime, now=morning(date(2026, 11, 17)))
    titles = feed_titles(runtime, tenant.company_id)
    assert "Reminder: social contributions (ZUS) for 10/2026, due 20 Nov 2026" in titles
    with runtime.tenant(tenant.company_id) as session:
        body = session.scalar(select(Notification.body).where(Notification.title.contains("ZUS")))
    assert body is not None and f"PLN{NBSP}1,800.00" in body


def test_a_client_every_channel_off_is_recorded_as_failed(runtime: Runtime, tenant: Tenant) -> None:
    make_client(
        runtime, tenant.company_id, "Cicha Firma", channel_inapp=False, channel_webpush=False
    )
    assert send_due_reminders(runtime, now=morning(date(2026, 11, 2))) == 1
    with runtime.tenant(tenant.company_id) as session:
        row = session.scalars(select(ReminderSend)).one()
    assert row.status is NoticeStatus.FAILED
    assert row.detail == "No channel is enabled for this client."
    # Recorded, so it is not tried again every run.
    assert send_due_reminders(runtime, now=morning(date(2026, 11, 3))) == 0


def test_the_worker_job_sends_what_is_due_now(runtime: Runtime, tenant: Tenant) -> None:
    """The periodic job runs on the real clock: with every kind sent 31 days ahead, some
    deadline (the 5th, 20th or 25th of a month) is always close enough to be due."""
    job = next(job for job in DEFAULT_JOBS if job.name == "send deadline reminders")
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        for kind in ReminderKind:
            rs.set_office_default(
                session, actor=admin, kind=kind, setting=rs.ReminderSetting(True, 31, None)
            )
    make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    first = job.run(runtime)
    assert isinstance(first, int) and first >= 1
    assert job.run(runtime) == 0
