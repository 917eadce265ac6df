"""B1–B6: which address sends, as a table of accounts × project × choice × mode × relay state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from postroom.config import Settings
from postroom.db.models import (
    Account,
    AccountGrant,
    AccountProject,
    Group,
    GroupMember,
    Project,
    User,
)
from postroom.enums import AccessMode, DocumentKind, EmailMode, MessageStatus, Role
from postroom.errors import PostroomError
from postroom.services import routing
from postroom.services.routing import SenderRule
from postroom.services.runtime import Runtime
from tests.services.relay_support import RELAY_FROM, Sent, add_sent, set_company, with_relay
from tests.support import Tenant

ACTOR, COLLEAGUE = "actor", "colleague"

# label -> (owner, projects, active, access mode, grant: None / "user" / "group")
SPECS: dict[str, tuple[str | None, tuple[str, ...], bool, AccessMode, str | None]] = {
    "own": (ACTOR, (), True, AccessMode.LISTED, None),
    "own_2": (ACTOR, (), True, AccessMode.LISTED, None),
    "own_p": (ACTOR, ("P",), True, AccessMode.LISTED, None),
    "own_q": (ACTOR, ("Q",), True, AccessMode.LISTED, None),
    "own_off": (ACTOR, (), False, AccessMode.LISTED, None),
    "co": (None, (), True, AccessMode.EVERYONE, None),
    "co_2": (None, (), True, AccessMode.EVERYONE, None),
    "co_p": (None, ("P",), True, AccessMode.EVERYONE, None),
    "co_pq": (None, ("P", "Q"), True, AccessMode.EVERYONE, None),
    "co_q": (None, ("Q",), True, AccessMode.EVERYONE, None),
    "co_off": (None, (), False, AccessMode.EVERYONE, None),
    "co_listed": (None, (), True, AccessMode.LISTED, None),
    "co_listed_user": (None, (), True, AccessMode.LISTED, "user"),
    "co_listed_group": (None, (), True, AccessMode.LISTED, "group"),
    "co_p_listed": (None, ("P",), True, AccessMode.LISTED, None),
    "colleague": (COLLEAGUE, (), True, AccessMode.LISTED, None),
    "colleague_shared": (COLLEAGUE, (), True, AccessMode.LISTED, "group"),
}


@dataclass(frozen=True)
class Case:
    name: str
    accounts: tuple[str, ...]  # created in this order: the first has the lowest id
    expect: str  # an account label, "relay", or "!code" of the refusal
    rule: SenderRule | None = None
    mode: EmailMode = EmailMode.RELAY
    project: str | None = None
    pick: str | None = None  # the account chosen explicitly
    use_relay: bool = False
    kind: DocumentKind = DocumentKind.OTHER
    own_template: bool = False
    verified: bool = True
    sent: tuple[Sent, ...] = ()
    limit: int | None = None  # the company's own relay limit
    role: Role = Role.USER
    viewer: bool = False  # the actor may see colleagues' accounts (E2)
    relay_configured: bool = True


R = SenderRule
K = DocumentKind
M = MessageStatus
OWN, OFF = EmailMode.OWN, EmailMode.OFF
ADMIN = Role.ADMIN
INVOICE, PAYSLIP = K.INVOICE, K.PAYSLIP
# Refusals, by code
NOT_IN_PROJECT, INACTIVE, NOT_USABLE = (
    "!account_not_in_project",
    "!account_inactive",
    "!account_not_usable",
)
LIMIT, VERIFY, NO_SENDER = (
    "!relay_limit_reached",
    "!relay_requires_verification",
    "!no_sender_available",
)

CASES = [
    # B1, B2: personal before company
    Case("nothing connected: the relay", (), "relay", R.RELAY),
    Case("own wins over company", ("co", "own"), "own", R.PERSONAL),
    Case("own wins over project's", ("co_p", "own"), "own", R.PERSONAL, project="P"),
    Case("several own: the oldest", ("own_2", "own"), "own_2", R.PERSONAL),
    Case("own bound to the project first", ("own", "own_p"), "own_p", R.PERSONAL, project="P"),
    Case("own of another project skipped", ("own_q", "co"), "co", R.COMPANY, project="P"),
    Case("own of a project, no project", ("own_p",), "relay", R.RELAY),
    Case("inactive own skipped", ("own_off", "co"), "co", R.COMPANY),
    # B3, B4: company accounts
    Case("company fallback", ("co",), "co", R.COMPANY),
    Case("several company: the oldest", ("co_2", "co"), "co_2", R.COMPANY),
    Case("project's over fallback", ("co", "co_p"), "co_p", R.PROJECT, project="P"),
    Case("account of two projects", ("co", "co_pq"), "co_pq", R.PROJECT, project="Q"),
    Case("project's not outside projects", ("co_p",), "relay", R.RELAY),
    Case("project's not in another project", ("co_p",), "relay", R.RELAY, project="Q"),
    Case("other project's: fallback", ("co_q", "co"), "co", R.COMPANY, project="P"),
    Case("fallback inside a project", ("co",), "co", R.COMPANY, project="P"),
    Case("inactive company skipped", ("co_off",), "relay", R.RELAY),
    Case("listed, not on the list", ("co_listed",), "relay", R.RELAY),
    Case("listed project's, not listed", ("co_p_listed", "co"), "co", R.COMPANY, project="P"),
    Case("listed, granted to the user", ("co_listed_user",), "co_listed_user", R.COMPANY),
    Case("listed, granted via group", ("co_listed_group",), "co_listed_group", R.COMPANY),
    Case("administrator uses listed", ("co_listed",), "co_listed", R.COMPANY, role=ADMIN),
    Case("colleague's never taken", ("colleague",), "relay", R.RELAY, role=ADMIN),
    Case("shared colleague's not unasked", ("colleague_shared",), "relay", R.RELAY),
    # explicit choice
    Case("pick company over own", ("own", "co"), "co", R.EXPLICIT, pick="co"),
    Case(
        "pick shared",
        ("colleague_shared",),
        "colleague_shared",
        R.EXPLICIT,
        pick="colleague_shared",
    ),
    Case(
        "pick colleague's, admin",
        ("colleague",),
        "colleague",
        R.EXPLICIT,
        pick="colleague",
        role=ADMIN,
    ),
    Case("pick colleague's, unseen", ("colleague",), "!not_found", pick="colleague"),
    Case("pick colleague's, seen", ("colleague",), NOT_USABLE, pick="colleague", viewer=True),
    Case("pick listed, not listed", ("co_listed", "co"), "!not_found", pick="co_listed"),
    Case("pick project's, no project", ("co_p",), NOT_IN_PROJECT, pick="co_p"),
    Case("pick project's, other project", ("co_p",), NOT_IN_PROJECT, pick="co_p", project="Q"),
    Case("pick own of another project", ("own_q",), NOT_IN_PROJECT, pick="own_q", project="P"),
    Case("pick project's in it", ("co_p",), "co_p", R.EXPLICIT, pick="co_p", project="P"),
    Case("pick unbound in a project", ("co",), "co", R.EXPLICIT, pick="co", project="P"),
    Case("pick inactive", ("own_off",), INACTIVE, pick="own_off"),
    Case("pick in mode own", ("own", "co"), "co", R.EXPLICIT, pick="co", mode=OWN),
    Case("pick relay over own", ("own",), "relay", R.RELAY, use_relay=True),
    Case("pick relay in mode own", ("own",), "!relay_not_allowed", use_relay=True, mode=OWN),
    Case("pick account and relay", ("own",), "!validation_failed", pick="own", use_relay=True),
    # B6: e-mail mode
    Case("e-mail off: nothing", ("own", "co"), "!email_off", mode=OFF),
    Case("e-mail off: not even picked", ("own",), "!email_off", pick="own", mode=OFF),
    Case("mode own: own account", ("own",), "own", R.PERSONAL, mode=OWN),
    Case("mode own: company account", ("co",), "co", R.COMPANY, mode=OWN),
    Case("mode own: nothing usable", ("co_p", "colleague"), NO_SENDER, mode=OWN),
    Case("mode relay: accounts first", ("co",), "co", R.COMPANY, kind=PAYSLIP, verified=False),
    Case("no relay configured", (), "!relay_not_configured", relay_configured=False),
    Case("no relay configured, own", ("own",), "own", R.PERSONAL, relay_configured=False),
    # B5: the document limit (50 by default)
    Case("49 sent: the 50th goes", (), "relay", R.RELAY, kind=INVOICE, sent=(Sent(49),)),
    Case("50 sent: the 51st refused", (), LIMIT, kind=INVOICE, sent=(Sent(50),)),
    Case("limit reached, plain message", (), "relay", R.RELAY, sent=(Sent(50),)),
    Case("limit reached, own SMTP", ("own",), "own", R.PERSONAL, kind=INVOICE, sent=(Sent(50),)),
    Case(
        "queued, retrying, bounced count",
        (),
        LIMIT,
        kind=INVOICE,
        sent=(Sent(20, status=M.QUEUED), Sent(20, status=M.RETRYING), Sent(10, status=M.BOUNCED)),
    ),
    Case(
        "failed ones do not count",
        (),
        "relay",
        R.RELAY,
        kind=INVOICE,
        sent=(Sent(49), Sent(5, status=M.FAILED)),
    ),
    Case(
        "plain do not count", (), "relay", R.RELAY, kind=INVOICE, sent=(Sent(49), Sent(5, K.OTHER))
    ),
    Case(
        "own-SMTP documents do not count",
        (),
        "relay",
        R.RELAY,
        kind=INVOICE,
        sent=(Sent(49), Sent(5, via_relay=False)),
    ),
    Case(
        "own-template messages count",
        (),
        LIMIT,
        kind=INVOICE,
        sent=(Sent(49), Sent(1, K.OTHER, own_template=True)),
    ),
    Case("HR documents count", (), LIMIT, kind=INVOICE, sent=(Sent(49), Sent(1, PAYSLIP))),
    Case("limit 3: the 3rd goes", (), "relay", R.RELAY, kind=INVOICE, limit=3, sent=(Sent(2),)),
    Case("limit 3: the 4th refused", (), LIMIT, kind=INVOICE, limit=3, sent=(Sent(3),)),
    Case("limit 0", (), LIMIT, kind=INVOICE, limit=0),
    Case("limit above default", (), "relay", R.RELAY, kind=INVOICE, limit=80, sent=(Sent(79),)),
    Case("verified: payslip", (), "relay", R.RELAY, kind=PAYSLIP),
    Case("verified: CRM document", (), "relay", R.RELAY, kind=K.CRM_DOCUMENT),
    # B5: unverified companies
    Case("unverified: invoice goes", (), "relay", R.RELAY, kind=INVOICE, verified=False),
    Case("unverified: plain goes", (), "relay", R.RELAY, verified=False),
    Case("unverified: payslip", (), VERIFY, kind=PAYSLIP, verified=False),
    Case("unverified: declaration", (), VERIFY, kind=K.EMPLOYEE_DECLARATION, verified=False),
    Case("unverified: CRM document", (), VERIFY, kind=K.CRM_DOCUMENT, verified=False),
    Case("unverified: own template", (), VERIFY, own_template=True, verified=False),
    Case(
        "unverified: own-template invoice",
        (),
        VERIFY,
        kind=INVOICE,
        own_template=True,
        verified=False,
    ),
    Case(
        "unverified: payslip, own SMTP", ("own",), "own", R.PERSONAL, kind=PAYSLIP, verified=False
    ),
    Case("unverified: limit too", (), LIMIT, kind=INVOICE, verified=False, sent=(Sent(50),)),
]


@dataclass(frozen=True)
class Scene:
    actor_id: int
    accounts: dict[str, int]
    projects: dict[str, int]


def _account(label: str, users: dict[str, int], projects: dict[str, int], group: Group) -> Account:
    owner, bound, active, mode, grant = SPECS[label]
    grants = {
        None: [],
        "user": [AccountGrant(user_id=users[ACTOR])],
        "group": [AccountGrant(group_id=group.id)],
    }[grant]
    return Account(
        owner_user_id=users[owner] if owner else None,
        email_address=f"{label.replace('_', '-')}@alfa.example.test",
        display_name=label,
        smtp_host="smtp.alfa.example.test",
        access_mode=mode,
        active=active,
        grants=grants,
        projects=[AccountProject(project_id=projects[name]) for name in bound],
    )


@pytest.fixture
def relay_settings(settings: Settings) -> Settings:
    return with_relay(settings)


@pytest.fixture
def build(runtime: Runtime, tenant: Tenant) -> Callable[[Case], Scene]:
    def make(case: Case) -> Scene:
        actor = tenant.add_user(case.role, can_see_others_accounts=case.viewer)
        colleague = tenant.add_user()
        users = {ACTOR: actor.id, COLLEAGUE: colleague.id}
        set_company(
            runtime,
            tenant.company_id,
            email_mode=case.mode,
            verified=case.verified,
            relay_document_limit=case.limit,
        )
        with runtime.tenant(tenant.company_id) as session:
            projects = {name: Project(name=f"Projekt {name}") for name in ("P", "Q")}
            group = Group(name="Księgowość", members=[GroupMember(user_id=actor.id)])
            session.add_all([*projects.values(), group])
            session.flush()
            project_ids = {name: project.id for name, project in projects.items()}
            ids = {}
            for label in case.accounts:
                account = _account(label, users, project_ids, group)
                session.add(account)
                session.flush()  # one at a time: ids follow the order of the case
                ids[label] = account.id
            add_sent(session, *case.sent)
        return Scene(actor.id, ids, project_ids)

    return make


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_routing_table(
    runtime: Runtime,
    tenant: Tenant,
    settings: Settings,
    relay_settings: Settings,
    build: Callable[[Case], Scene],
    case: Case,
) -> None:
    scene = build(case)
    used_settings = relay_settings if case.relay_configured else settings
    with runtime.tenant(tenant.company_id) as session:
        actor = session.get(User, scene.actor_id)
        assert actor is not None
        project_id = scene.projects[case.project] if case.project else None

        def choose() -> routing.SenderChoice:
            return routing.choose_sender(
                session,
                actor=actor,
                project_id=project_id,
                account_id=scene.accounts[case.pick] if case.pick else None,
                document_kind=case.kind,
                from_own_template=case.own_template,
                use_relay=case.use_relay,
                settings=used_settings,
            )

        if case.expect.startswith("!"):
            with pytest.raises(PostroomError) as refused:
                choose()
            assert refused.value.code == case.expect[1:]
            assert refused.value.message.endswith(".")  # a sentence a person can act on
            return
        choice = choose()
        assert choice.rule is case.rule
        if case.expect == "relay":
            assert (choice.account, choice.via_relay) == (None, True)
            assert choice.identity.from_address == RELAY_FROM
            assert choice.identity.reply_to == actor.email
        else:
            assert choice.account is not None and not choice.via_relay
            assert choice.account.id == scene.accounts[case.expect]
            assert choice.identity.from_address == choice.account.email_address
        if case.pick is None and not case.use_relay:
            # The picker's preselected entry is what the rules take unasked.
            options = routing.list_senders(
                session, actor=actor, project_id=project_id, settings=used_settings
            )
            chosen = choice.account.id if choice.account else None
            assert [o.account_id for o in options if o.default] == [chosen]
