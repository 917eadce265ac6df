"""Which address sends (B1–B4): an account, else the platform relay (B5, B6), else a refusal.

The rules, in order: the account the user chose, if they may use it; the user's own personal
account (B2); a company account bound to the project; a company account bound to no project
(the fallback, B4); the platform relay if the company's e-mail mode is "relay"; otherwise a
refusal that says why. An account bound to projects is never used outside them, and an
inactive account (A7) is never sent from. Within one rule an account bound to the project
comes before an unbound one, then the lowest id (the oldest account) wins, so the choice never
changes between two calls. docs/decisions.md explains each choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from postroom.config import Settings
from postroom.db.models import Account, Company, Project, User
from postroom.enums import DocumentKind, EmailMode
from postroom.errors import NotFoundError, RefusalReason, SendingRefusedError, ValidationError
from postroom.services import access, relay, relay_identity
from postroom.services.companies import get_company
from postroom.services.projects import get_project


class SenderRule(StrEnum):
    """The rule that chose (or offers) a sender, in the order the rules are tried."""

    EXPLICIT = "explicit"  # the account the user picked
    PERSONAL = "personal"  # the user's own account: it wins over company ones (B2)
    PROJECT = "project"  # a company account bound to the project (B4)
    COMPANY = "company"  # a company account bound to no project: the fallback (B4)
    SHARED = "shared"  # a colleague's account shared with the user: offered, never automatic
    RELAY = "relay"  # the platform relay (B5)


class SenderKind(StrEnum):
    PERSONAL = "personal"
    COMPANY = "company"
    RELAY = "relay"


_RANK = {rule: index for index, rule in enumerate(SenderRule)}


@dataclass(frozen=True)
class SenderIdentity:
    """What the message's From and Reply-To say, and the envelope sender (MAIL FROM)."""

    from_address: str
    display_name: str
    reply_to: str | None
    envelope_from: str


@dataclass(frozen=True)
class SenderChoice:
    account: Account | None  # None when the message goes through the relay
    via_relay: bool
    rule: SenderRule
    identity: SenderIdentity


@dataclass(frozen=True)
class SenderOption:
    """One entry of the "From" picker."""

    account_id: int | None  # None for the relay
    address: str
    display_name: str
    kind: SenderKind
    rule: SenderRule
    owner_user_id: int | None
    needs_attention: bool  # sends may fail until someone fixes the account's login
    default: bool  # what choose_sender takes when the user chooses nothing


@dataclass(frozen=True)
class _Candidate:
    rule: SenderRule
    in_project: bool
    account: Account

    @property
    def key(self) -> tuple[int, bool, int]:
        return (_RANK[self.rule], not self.in_project, self.account.id)


@dataclass
class SenderCache:
    """What the rules read, kept for one transaction of one actor.

    A message asks for its project and account twice (the link check, then the rules) and a
    batch of messages asks the same for every item: each is read once. The relay's count is
    never kept (each message of a batch counts), and neither is anything the transaction
    writes. Use a new cache for each transaction.
    """

    company: Company | None = None
    group_ids: set[int] | None = None
    projects: dict[int, Project] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    candidates: dict[int | None, list[_Candidate]] = field(default_factory=dict)

    def get_company(self, session: Session, actor: User) -> Company:
        if self.company is None:
            self.company = get_company(session, actor.company_id)
        return self.company

    def groups(self, session: Session, actor: User) -> set[int]:
        if self.group_ids is None:
            self.group_ids = access.group_ids_of(session, actor)
        return self.group_ids

    def project(self, session: Session, project_id: int) -> Project:
        """The project, or NotFoundError: another company's project does not exist (E3)."""
        found = self.projects.get(project_id)
        if found is None:
            found = self.projects[project_id] = get_project(session, project_id)
        return found

    def account(self, session: Session, actor: User, account_id: int) -> Account:
        """The account if the actor may see it, else NotFoundError (accounts.get_account)."""
        found = self.accounts.get(account_id)
        if found is None:
            # Grants are read only when the actor is neither an administrator nor the owner.
            found = session.get(Account, account_id, options=[lazyload(Account.grants)])
            if found is None or not access.can_see(actor, found, self.groups(session, actor)):
                raise NotFoundError(f"Account {account_id} does not exist.")
            self.accounts[account_id] = found
        return found

    def usable(self, session: Session, actor: User, project_id: int | None) -> list[_Candidate]:
        found = self.candidates.get(project_id)
        if found is None:
            found = self.candidates[project_id] = _candidates(session, actor, project_id, self)
        return found


def choose_sender(
    session: Session,
    *,
    actor: User,
    project_id: int | None,
    account_id: int | None,
    document_kind: DocumentKind = DocumentKind.OTHER,
    from_own_template: bool = False,
    use_relay: bool = False,
    settings: Settings,
    cache: SenderCache | None = None,
) -> SenderChoice:
    """The sender of one message, or SendingRefusedError saying why none may send it.

    `use_relay`: the user picked the relay in the "From" picker. An unknown account or project
    (or one of another company) raises NotFoundError. When the relay is chosen for a document,
    insert the outbox row in the same transaction (see relay.check_relay). `cache`: reads
    shared with the caller's other checks in this transaction (a batch of messages).
    """
    cache = cache if cache is not None else SenderCache()
    if project_id is not None:
        cache.project(session, project_id)  # another company's project does not exist (E3)
    if account_id is not None and use_relay:
        raise ValidationError.for_field(
            "account_id", "Choose an account or the platform relay, not both.", "two_senders"
        )
    company = cache.get_company(session, actor)
    if company.email_mode is EmailMode.OFF:
        raise relay.mode_refusal(company)
    if account_id is not None:
        account = _explicit(session, actor, account_id, project_id, cache)
        return _account_choice(account, SenderRule.EXPLICIT)
    if not use_relay:
        automatic = _automatic(cache.usable(session, actor, project_id))
        if automatic is not None:
            return _account_choice(automatic.account, automatic.rule)
        if company.email_mode is EmailMode.OWN:
            raise _no_sender(company, project_id)
    relay.check_relay(
        session,
        company=company,
        settings=settings,
        document_kind=document_kind,
        from_own_template=from_own_template,
    )
    return SenderChoice(None, True, SenderRule.RELAY, _relay_identity(session, actor, settings))


def list_senders(
    session: Session, *, actor: User, project_id: int | None, settings: Settings
) -> list[SenderOption]:
    """What the user may send from, in the order of the rules; the relay last when allowed.

    Colleagues' accounts appear only when shared with the user (or a group of theirs): an
    administrator may send from any account by choosing it, but is not offered them all.
    """
    if project_id is not None:
        get_project(session, project_id)
    company = get_company(session, actor.company_id)
    if company.email_mode is EmailMode.OFF:
        raise relay.mode_refusal(company)
    candidates = _candidates(session, actor, project_id)
    default = _automatic(candidates)
    options = [_option(c, default=c is default) for c in candidates]
    if company.email_mode is EmailMode.RELAY and relay.relay_configured(settings):
        identity = _relay_identity(session, actor, settings)
        options.append(
            SenderOption(
                account_id=None,
                address=identity.from_address,
                display_name=identity.display_name,
                kind=SenderKind.RELAY,
                rule=SenderRule.RELAY,
                owner_user_id=None,
                needs_attention=False,
                default=default is None,
            )
        )
    return options


def _bound_projects(account: Account) -> set[int]:
    return {link.project_id for link in account.projects}


def _granted(account: Account, actor: User, group_ids: set[int]) -> bool:
    return any(
        grant.user_id == actor.id or (grant.group_id is not None and grant.group_id in group_ids)
        for grant in account.grants
    )


def _rule_for(
    account: Account, actor: User, project_id: int | None, group_ids: set[int]
) -> SenderRule | None:
    bound = _bound_projects(account)
    if bound and project_id not in bound:
        return None  # offered only inside its projects (B4)
    if account.owner_user_id == actor.id:
        return SenderRule.PERSONAL
    if account.owner_user_id is None:
        return SenderRule.PROJECT if bound else SenderRule.COMPANY
    if _granted(account, actor, group_ids):
        return SenderRule.SHARED
    return None  # a colleague's account only an administrator's right reaches (E1)


def _candidates(
    session: Session, actor: User, project_id: int | None, cache: SenderCache | None = None
) -> list[_Candidate]:
    """Every active account the actor may use here, best first (one query, with the grants
    and project links loaded for all of them at once)."""
    group_ids = cache.groups(session, actor) if cache else access.group_ids_of(session, actor)
    rows = session.scalars(
        select(Account).where(access.usable_accounts_condition(actor), Account.active.is_(True))
    )
    found = []
    for account in rows:
        rule = _rule_for(account, actor, project_id, group_ids)
        if rule is not None:
            found.append(_Candidate(rule, bool(_bound_projects(account)), account))
    return sorted(found, key=lambda candidate: candidate.key)


def _automatic(candidates: list[_Candidate]) -> _Candidate | None:
    """The first candidate the rules may take unasked; a shared colleague's account is not."""
    return next((c for c in candidates if c.rule is not SenderRule.SHARED), None)


def _explicit(
    session: Session, actor: User, account_id: int, project_id: int | None, cache: SenderCache
) -> Account:
    account = cache.account(session, actor, account_id)  # else 404
    address = account.email_address
    if not access.can_use(actor, account, cache.groups(session, actor)):
        raise SendingRefusedError(
            RefusalReason.ACCOUNT_NOT_USABLE,
            f"You may see {address} but not send from it: it is a colleague's account that is "
            "not shared with you. Ask its owner or an administrator to share it, or choose "
            "another account.",
        )
    if not account.active:
        raise SendingRefusedError(
            RefusalReason.ACCOUNT_INACTIVE,
            f"{address} is inactive, so nothing is sent from it. Its owner or an "
            "administrator can set it active again; or choose another account.",
        )
    bound = _bound_projects(account)
    if bound and project_id not in bound:
        names = session.scalars(select(Project.name).where(Project.id.in_(bound))).all()
        raise SendingRefusedError(
            RefusalReason.ACCOUNT_NOT_IN_PROJECT,
            f"{address} is bound to the project(s) {', '.join(sorted(names))} and is offered "
            "only inside them. Send from one of those projects, or choose another account.",
        )
    return account


def _no_sender(company: Company, project_id: int | None) -> SendingRefusedError:
    where = " in this project" if project_id is not None else ""
    return SendingRefusedError(
        RefusalReason.NO_SENDER_AVAILABLE,
        f"There is no account you may send from{where}, and {company.name} sends through its "
        'own mail servers (e-mail mode "own"), never through the platform relay. Connect your '
        "own mailbox, or ask an administrator for access to a company account (one bound to "
        "no project serves everywhere).",
    )


def _account_choice(account: Account, rule: SenderRule) -> SenderChoice:
    identity = SenderIdentity(
        from_address=account.email_address,
        display_name=account.display_name,
        reply_to=account.reply_to,
        envelope_from=account.email_address,
    )
    return SenderChoice(account, False, rule, identity)


def _relay_identity(session: Session, actor: User, settings: Settings) -> SenderIdentity:
    """From as relay mail really goes out (relay_identity.relay_from: the user's address on a
    verified domain, else "<company> via <platform>"); replies go to the user (C5)."""
    display_name, from_address = relay_identity.relay_from(session, actor=actor, settings=settings)
    return SenderIdentity(
        from_address=from_address,
        display_name=display_name,
        reply_to=actor.email,
        envelope_from=relay.relay_address(settings),
    )


def _option(candidate: _Candidate, *, default: bool) -> SenderOption:
    account = candidate.account
    return SenderOption(
        account_id=account.id,
        address=account.email_address,
        display_name=account.display_name,
        kind=SenderKind.COMPANY if account.owner_user_id is None else SenderKind.PERSONAL,
        rule=candidate.rule,
        owner_user_id=account.owner_user_id,
        needs_attention=account.needs_attention,
        default=default,
    )
