"""Companies: provisioned by the host application (platform token); the caller's own company."""

from __future__ import annotations

from fastapi import APIRouter, status

from postroom.api.deps import CallerDep, PlatformDep
from postroom.api.schemas import (
    CompanyCreate,
    CompanyPlatformUpdate,
    CompanyProvisioned,
    CompanyPublic,
    CompanyUpdate,
    UserPublic,
)
from postroom.db.tenancy import rescope
from postroom.enums import Role
from postroom.services import companies, tokens, users

router = APIRouter(tags=["companies"])


@router.post("/companies", status_code=status.HTTP_201_CREATED, response_model=CompanyProvisioned)
def create_company(body: CompanyCreate, runtime: PlatformDep) -> CompanyProvisioned:
    """Create a company with its first administrator (platform token only)."""
    with runtime.platform() as session:
        company = companies.create_company(
            session, name=body.name, verified=body.verified, email_mode=body.email_mode
        )
        rescope(session, company.id)
        password = body.admin.password.get_secret_value() if body.admin.password else None
        admin = users.create_user(
            session,
            actor=None,
            company_id=company.id,
            email=body.admin.email,
            name=body.admin.name,
            password=password,
            role=Role.ADMIN,
        )
        issued = tokens.issue_token(session, actor=None, user=admin, name="provisioning")
        return CompanyProvisioned(
            company=CompanyPublic.model_validate(company),
            admin=UserPublic.model_validate(admin),
            admin_token=issued.plaintext,
        )


@router.get("/companies/{company_id}", response_model=CompanyPublic)
def get_company(company_id: int, runtime: PlatformDep) -> CompanyPublic:
    """Any company (platform token only)."""
    with runtime.platform() as session:
        return CompanyPublic.model_validate(companies.get_company(session, company_id))


@router.patch("/companies/{company_id}", response_model=CompanyPublic)
def update_company(
    company_id: int, body: CompanyPlatformUpdate, runtime: PlatformDep
) -> CompanyPublic:
    """Verify a company, set its e-mail mode or relay limit (platform token only)."""
    changes = body.model_dump(exclude_unset=True)
    with runtime.platform() as session:
        company = companies.update_company_by_platform(
            session,
            company_id,
            name=changes.get("name"),
            verified=changes.get("verified"),
            email_mode=changes.get("email_mode"),
            relay_document_limit=changes.get("relay_document_limit"),
            clear_limit="relay_document_limit" in changes,
        )
        return CompanyPublic.model_validate(company)


@router.get("/company", response_model=CompanyPublic)
def get_own_company(caller: CallerDep) -> CompanyPublic:
    """The caller's company."""
    with caller.begin() as tx:
        return CompanyPublic.model_validate(companies.get_company(tx.session, tx.actor.company_id))


@router.patch("/company", response_model=CompanyPublic)
def update_own_company(body: CompanyUpdate, caller: CallerDep) -> CompanyPublic:
    """Rename the company or choose how it sends e-mail (administrators)."""
    with caller.begin() as tx:
        company = companies.update_company_settings(
            tx.session, actor=tx.actor, name=body.name, email_mode=body.email_mode
        )
        return CompanyPublic.model_validate(company)
