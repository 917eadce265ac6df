"""B5, B6: the relay's limit counted send by send, its quota, its settings, the picker's order."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from pydantic import SecretStr
from pydantic import ValidationError as SettingsError
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import Account, AccountGrant, AccountProject, Company, Project, User
from postroom.db.models_outbox import OutboxBody, OutboxMessage
from postroom.enums import AccessMode, AuthMethod, DocumentCategory, DocumentKind, EmailMode
from postroom.errors import NotFoundError, RefusalReason, SendingRefusedError
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import StepName
from postroom.mail.smtp_probe import SmtpTarget, probe_smtp
from postroom.services import relay, routing
from postroom.services.routing import SenderKind, SenderRule
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.services.relay_support import RELAY_FROM, Sent, add_sent, set_company, with_relay
from tests.support import Tenant

ALICE = "alice@example.test"  # a mailbox of the mailenv fixture, password "secret"
INVOICE = DocumentKind.INVOICE


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def _company(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    assert company is not None
    return company


def _enqueue(session: Session, choice: routing.SenderChoice, kind: DocumentKind) -> None:
    """What the outbox does with a choice: one row, in the same transaction as the check."""
    session.add(
        OutboxMessage(
            via_relay=choice.via_relay,
            account_id=choice.account.id if choice.account else None,
            document_kind=kind,
            message_id=f"{uuid.uuid4()}@platform.example.test",
            envelope_from=choice.identity.envelope_from,
            body=OutboxBody(mime=b"Subject: x\r\n\r\nx\r\n"),
            size=18,
            deadline_at=utcnow() + timedelta(days=3),
        )
    )
    session.flush()


def _send(
    runtime: Runtime, tenant: Tenant, settings: Settings, kind: DocumentKind = INVOICE
) -> routing.SenderChoice:
    """One send through the rules, each in its own transaction, as the API would do it."""
    with runtime.tenant(tenant.company_id) as session:
        choice = routing.choose_sender(
            session,
            actor=_user(session, tenant.admin.id),
            project_id=None,
            account_id=None,
            document_kind=kind,
            settings=settings,
        )
        _enqueue(session, choice, kind)
        return choice


def test_the_nth_document_goes_and_the_next_is_refused(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    relay_on = with_relay(settings)
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY, relay_document_limit=3)
    for _ in range(3):
        assert _send(runtime, tenant, relay_on).via_relay
    with pytest.raises(SendingRefusedError) as refused:
        _send(runtime, tenant, relay_on)
    assert refused.value.reason is RefusalReason.RELAY_LIMIT_REACHED
    assert "limit of 3 documents" in refused.value.message
    assert "(3 sent or queued)" in refused.value.message
    assert "own mailbox (SMTP)" in refused.value.message  # how to lift it
    assert _send(runtime, tenant, relay_on, DocumentKind.OTHER).via_relay  # plain still goes
    with runtime.tenant(tenant.company_id) as session:
        quota = relay.relay_quota(session, _company(session, tenant.company_id), relay_on)
    assert (quota.used, quota.limit, quota.remaining, quota.company_limit) == (3, 3, 0, True)
    # The platform raises the company's limit: one more document goes.
    set_company(runtime, tenant.company_id, relay_document_limit=4)
    assert _send(runtime, tenant, relay_on).via_relay


def test_two_sends_at_once_cannot_both_take_the_last_document(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    relay_on = with_relay(settings)
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY, relay_document_limit=1)
    first_queued, commit_first = threading.Event(), threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def send(name: str, hold: bool) -> None:
        try:
            with runtime.tenant(tenant.company_id) as session:
                choice = routing.choose_sender(
                    session,
                    actor=_user(session, tenant.admin.id),
                    project_id=None,
                    account_id=None,
                    document_kind=INVOICE,
                    settings=relay_on,
                )
                _enqueue(session, choice, INVOICE)
                if hold:  # the last document is taken, not yet committed
                    first_queued.set()
                    commit_first.wait(10)
            outcomes[name] = None
        except Exception as exc:
            outcomes[name] = exc

    first = threading.Thread(target=send, args=("first", True))
    second = threading.Thread(target=send, args=("second", False))
    first.start()
    assert first_queued.wait(10)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waits for the first transaction instead of counting past it
    commit_first.set()
    first.join(10)
    second.join(30)
    assert outcomes["first"] is None
    # It waited for the company's row, then counted the first one's document.
    assert isinstance(outcomes["second"], SendingRefusedError)
    assert outcomes["second"].reason is RefusalReason.RELAY_LIMIT_REACHED
    with runtime.tenant(tenant.company_id) as session:
        assert relay.documents_sent(session, _company(session, tenant.company_id)) == 1


def test_another_companys_relay_documents_do_not_count(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, settings: Settings
) -> None:
    relay_on = with_relay(settings)
    for company_id in (tenant.company_id, other_tenant.company_id):
        set_company(runtime, company_id, email_mode=EmailMode.RELAY, verified=True)
    with runtime.tenant(other_tenant.company_id) as session:
        add_sent(session, Sent(50))
    assert _send(runtime, tenant, relay_on).via_relay
    with runtime.tenant(tenant.company_id) as session:
        quota = relay.relay_quota(session, _company(session, tenant.company_id), relay_on)
    assert (quota.used, quota.limit, quota.company_limit) == (1, 50, False)


@pytest.mark.parametrize(
    ("verified", "sent", "allowed"),
    [
        (True, 0, {"standard": True, "own_template": True, "hr": True, "none": True}),
        (False, 0, {"standard": True, "own_template": False, "hr": False, "none": True}),
        (True, 50, {"standard": False, "own_template": False, "hr": False, "none": True}),
    ],
)
def test_relay_quota_says_what_may_go(
    runtime: Runtime,
    tenant: Tenant,
    settings: Settings,
    verified: bool,
    sent: int,
    allowed: dict[str, bool],
) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY, verified=verified)
    with runtime.tenant(tenant.company_id) as session:
        add_sent(session, Sent(sent))
        company = _company(session, tenant.company_id)
        quota = relay.relay_quota(session, company, with_relay(settings))
        assert quota.available and quota.remaining == 50 - sent
        assert {c.value: quota.allows(c) for c in DocumentCategory} == allowed
        # Without a relay in the configuration nothing may go through it.
        quota = relay.relay_quota(session, company, settings)
        assert not quota.available
        assert not any(quota.allows(c) for c in DocumentCategory)


def test_senders_are_listed_in_rule_order(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    actor = tenant.add_user()
    colleague = tenant.add_user()
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY)
    labels = ["co", "shared", "co_p", "own", "own_p", "colleague", "co_q", "own_off"]
    with runtime.tenant(tenant.company_id) as session:
        p, q = Project(name="P"), Project(name="Q")
        session.add_all([p, q])
        session.flush()
        owner = {"own": actor.id, "own_p": actor.id, "own_off": actor.id}
        owner |= {"shared": colleague.id, "colleague": colleague.id}
        bound = {"co_p": p.id, "own_p": p.id, "co_q": q.id}
        ids = {}
        for label in labels:
            account = Account(
                owner_user_id=owner.get(label),
                email_address=f"{label}@alfa.example.test",
                display_name=label.upper(),
                smtp_host="smtp.alfa.example.test",
                access_mode=AccessMode.LISTED if label in owner else AccessMode.EVERYONE,
                active=label != "own_off",
                grants=[AccountGrant(user_id=actor.id)] if label == "shared" else [],
                projects=[AccountProject(project_id=bound[label])] if label in bound else [],
            )
            session.add(account)
            session.flush()
            ids[label] = account.id
        options = routing.list_senders(
            session, actor=_user(session, actor.id), project_id=p.id, settings=with_relay(settings)
        )
    by_id = {v: k for k, v in ids.items()}
    assert [
        (by_id.get(o.account_id or 0, "relay"), o.rule, o.kind, o.default) for o in options
    ] == [
        ("own_p", SenderRule.PERSONAL, SenderKind.PERSONAL, True),
        ("own", SenderRule.PERSONAL, SenderKind.PERSONAL, False),
        ("co_p", SenderRule.PROJECT, SenderKind.COMPANY, False),
        ("co", SenderRule.COMPANY, SenderKind.COMPANY, False),
        ("shared", SenderRule.SHARED, SenderKind.PERSONAL, False),
        ("relay", SenderRule.RELAY, SenderKind.RELAY, False),
    ]
    assert (options[0].address, options[0].display_name) == ("own_p@alfa.example.test", "OWN_P")
    assert (options[-1].address, options[-1].display_name) == (
        RELAY_FROM,
        "Biuro Rachunkowe Alfa via Postroom",
    )


def test_another_companys_project_does_not_exist(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, settings: Settings
) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY)
    with runtime.tenant(other_tenant.company_id) as session:
        project = Project(name="Tajny projekt")
        session.add(project)
        session.flush()
        theirs = project.id
    with runtime.tenant(tenant.company_id) as session:
        actor = _user(session, tenant.admin.id)
        with pytest.raises(NotFoundError):
            routing.list_senders(session, actor=actor, project_id=theirs, settings=settings)
        with pytest.raises(NotFoundError):
            routing.choose_sender(
                session, actor=actor, project_id=theirs, account_id=None, settings=settings
            )


def _relay_on_postfix(
    settings: Settings, mailenv: MailEnv, port: int, **fields: object
) -> Settings:
    return with_relay(
        settings,
        relay_host=mailenv.host,
        relay_port=port,
        relay_username=ALICE,
        relay_from_address=ALICE,
        **{"relay_password": SecretStr(mailenv.users[ALICE]), **fields},
    )


@pytest.mark.parametrize(("service", "security"), [("submission", "starttls"), ("smtps", "tls")])
async def test_relay_target_logs_in_to_the_local_postfix(
    settings: Settings, mailenv: MailEnv, service: str, security: str
) -> None:
    port = mailenv.ports()[service]
    target = relay.relay_target(_relay_on_postfix(settings, mailenv, port, relay_security=security))
    assert target.credentials.method is AuthMethod.PASSWORD
    assert f"'{mailenv.users[ALICE]}'" not in repr(target)  # the password is a Secret
    report = await probe_smtp(
        SmtpTarget(target.endpoint, target.credentials, target.envelope_from),
        ProbeOptions(network=target.network),  # loopback allowed: the operator chose it
    )
    assert report.ok, report.failed_step
    assert "235" in report.step(StepName.AUTH).detail  # logged in, not let through unasked


async def test_relay_target_uses_the_configured_password(
    settings: Settings, mailenv: MailEnv
) -> None:
    wrong = _relay_on_postfix(
        settings, mailenv, mailenv.submission_port, relay_password=SecretStr("not-alices")
    )
    target = relay.relay_target(wrong)
    report = await probe_smtp(
        SmtpTarget(target.endpoint, target.credentials, target.envelope_from),
        ProbeOptions(network=target.network),
    )
    assert report.failed_step is not None and report.failed_step.name is StepName.AUTH


def test_relay_target_without_a_login_or_a_host(settings: Settings) -> None:
    target = relay.relay_target(with_relay(settings))
    assert target.credentials.method is AuthMethod.NONE
    assert (target.endpoint.host, target.endpoint.port) == ("relay.platform.example.test", 587)
    assert target.envelope_from == RELAY_FROM
    with pytest.raises(SendingRefusedError) as refused:
        relay.relay_target(settings)
    assert refused.value.reason is RefusalReason.RELAY_NOT_CONFIGURED


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"relay_host": "smtp.example.com"}, "RELAY_FROM_ADDRESS"),
        ({"relay_host": "h", "relay_from_address": "Postroom <r@example.com>"}, "bare address"),
        ({"relay_host": "h", "relay_from_address": "r@x.pl\r\nBcc: a@b.pl"}, "bare address"),
        ({"relay_host": "h", "relay_from_address": "r@x.pl", "relay_username": "u"}, "go together"),
        ({"relay_host": "h", "relay_from_address": "r@x.pl", "relay_security": "ssl"}, "relay_sec"),
    ],
)
def test_settings_refuse_a_half_configured_relay(fields: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as invalid:
        Settings(**fields)  # type: ignore[arg-type]
    assert named in str(invalid.value)
