"""Test helpers: tenants with users and tokens, well-known secrets, leak search."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postroom.db.tenancy import rescope
from postroom.enums import Role
from postroom.services import companies, tokens, users
from postroom.services.runtime import Runtime

RUN_LOG_NAME = "run.log"
USER_PASSWORD = "Login-Passw0rd-Kot-Ala"  # a Postroom login password
# Mailbox passwords used by tests; none may ever be found in a response, log or database file.
MAILBOX_PASSWORD = "Skrzynka-Tajne-5521-smtp"
INCOMING_PASSWORD = "Odbior-Tajne-9043-imap"
APP_PASSWORD = "abcd efgh ijkl mnop-7731"
# Issued by the local OAuth server (tests/fixtures/oauth_server.py): every token starts so.
OAUTH_ACCESS_TOKEN_PREFIX = "fakeoauth-at-"
OAUTH_REFRESH_TOKEN_PREFIX = "fakeoauth-rt-"
OAUTH_CLIENT_SECRET = "fakeoauth-client-secret-3141"
KNOWN_SECRETS = (
    USER_PASSWORD,
    MAILBOX_PASSWORD,
    INCOMING_PASSWORD,
    APP_PASSWORD,
    OAUTH_ACCESS_TOKEN_PREFIX,
    OAUTH_REFRESH_TOKEN_PREFIX,
    OAUTH_CLIENT_SECRET,
)


@dataclass
class Member:
    id: int
    email: str
    token: str
    role: Role
    password: str = USER_PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    runtime: Runtime
    company_id: int
    slug: str
    admin: Member
    members: list[Member] = field(default_factory=list)

    def add_user(self, role: Role = Role.USER, **permissions: Any) -> Member:
        email = f"user{len(self.members) + 1}@{self.slug}.example.test"
        member = _add_member(self.runtime, self.company_id, email, role, **permissions)
        self.members.append(member)
        return member


def _add_member(
    runtime: Runtime, company_id: int, email: str, role: Role, **permissions: Any
) -> Member:
    with runtime.tenant(company_id) as session:
        user = users.create_user(
            session,
            actor=None,
            company_id=company_id,
            email=email,
            password=USER_PASSWORD,
            role=role,
            **permissions,
        )
        session.flush()
        issued = tokens.issue_token(session, actor=None, user=user, name="tests")
        return Member(id=user.id, email=user.email, token=issued.plaintext, role=role)


def make_tenant(runtime: Runtime, name: str, slug: str) -> Tenant:
    with runtime.platform() as session:
        company = companies.create_company(session, name=name)
        rescope(session, company.id)
        company_id = company.id
    admin = _add_member(runtime, company_id, f"admin@{slug}.example.test", Role.ADMIN)
    return Tenant(runtime=runtime, company_id=company_id, slug=slug, admin=admin)


def find_leaks(files: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    """Each "secret in file" found; the files are read as bytes (database files are binary)."""
    needles = [(s, s.encode()) for s in secrets]
    found = []
    for path in files:
        if not path.exists():
            continue
        data = path.read_bytes()
        found += [f"{label!r} in {path}" for label, needle in needles if needle in data]
    return found
