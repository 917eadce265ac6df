"""Companies (tenants): provisioning by the platform, settings by their administrators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from postroom.db.models import Company, User
from postroom.enums import EmailMode
from postroom.services.guards import get_or_404, require_admin


def create_company(
    session: Session, *, name: str, verified: bool = False, email_mode: EmailMode = EmailMode.OFF
) -> Company:
    company = Company(name=name.strip(), verified=verified, email_mode=email_mode)
    session.add(company)
    session.flush()
    return company


def get_company(session: Session, company_id: int) -> Company:
    return get_or_404(session, Company, company_id, "Company")


def update_company_settings(
    session: Session, *, actor: User, name: str | None = None, email_mode: EmailMode | None = None
) -> Company:
    """What a company's administrator may change; verification is the platform's to grant."""
    require_admin(actor, "change the company's settings")
    company = get_company(session, actor.company_id)
    if name is not None:
        company.name = name.strip()
    if email_mode is not None:
        company.email_mode = email_mode
    return company


def update_company_by_platform(
    session: Session,
    company_id: int,
    *,
    name: str | None = None,
    verified: bool | None = None,
    email_mode: EmailMode | None = None,
    relay_document_limit: int | None = None,
    clear_limit: bool = False,
) -> Company:
    company = get_company(session, company_id)
    if name is not None:
        company.name = name.strip()
    if verified is not None:
        company.verified = verified
    if email_mode is not None:
        company.email_mode = email_mode
    if relay_document_limit is not None or clear_limit:
        company.relay_document_limit = relay_document_limit
    return company
