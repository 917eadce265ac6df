"""What a caller may set on an account: types, ranges and the fields each operation accepts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from postroom.addresses import normalize_address
from postroom.enums import AccessMode, AuthMethod, CipherLevel, IncomingProtocol, Security

Port = Annotated[int, Field(ge=1, le=65535)]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True), AfterValidator(normalize_address)
]
# Host names, logins and folder names end up in protocol commands: no control characters.
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$")
]
Html = Annotated[str, StringConstraints(max_length=100_000)]

# Fields whose values are secrets: stored encrypted, never echoed, history says "changed".
SECRET_FIELDS = ("smtp_password", "incoming_password")
OPTION_FIELDS = (
    "active",
    "leave_on_server",
    "fetch_since",
    "delete_on_server_when_purged",
    "notifications",
    "create_contacts",
    "create_tasks",
    "sent_folder",
    "drafts_folder",
    "fetch_interval_minutes",
)
LINK_FIELDS = ("access_user_ids", "access_group_ids", "project_ids")


class _Strict(BaseModel):
    # Unknown fields are an error, never silently dropped: a typo must not look like success.
    model_config = ConfigDict(extra="forbid")


class AccountOptions(_Strict):
    """A7 options, the part of an account that the list view edits in bulk (A11)."""

    active: bool = True
    leave_on_server: bool = True
    fetch_since: date | None = None
    delete_on_server_when_purged: bool = False
    notifications: bool = True
    create_contacts: bool = False
    create_tasks: bool = False
    sent_folder: Line | None = None
    drafts_folder: Line | None = None
    fetch_interval_minutes: int = Field(default=5, ge=1, le=1440)


class AccountVisibleSettings(AccountOptions):
    """Every setting of an account (A1–A4, A7–A9) that may be shown back: all but secrets."""

    name: Line = ""
    access_mode: AccessMode = AccessMode.EVERYONE
    access_user_ids: list[int] = Field(default_factory=list, max_length=1000)
    access_group_ids: list[int] = Field(default_factory=list, max_length=1000)
    project_ids: list[int] = Field(default_factory=list, max_length=1000)

    display_name: Line = ""
    reply_to: Address | None = None

    smtp_host: Line = ""
    smtp_port: Port | None = None  # None: the standard port for the security mode
    smtp_security: Security = Security.STARTTLS
    smtp_cipher_level: CipherLevel = CipherLevel.DEFAULT
    smtp_auth: AuthMethod = AuthMethod.PASSWORD
    smtp_username: Line = ""

    incoming_protocol: IncomingProtocol = IncomingProtocol.NONE
    incoming_host: Line = ""
    incoming_port: Port | None = None
    incoming_security: Security = Security.TLS
    incoming_cipher_level: CipherLevel = CipherLevel.DEFAULT
    incoming_auth: AuthMethod = AuthMethod.PASSWORD
    incoming_username: Line = ""

    header_html: Html = ""
    signature_html: Html = ""

    autoresponder_enabled: bool = False
    autoresponder_from: date | None = None
    autoresponder_until: date | None = None
    autoresponder_subject: Annotated[
        str, StringConstraints(max_length=500, pattern=r"^[^\r\n]*$")
    ] = ""
    autoresponder_text: Annotated[str, StringConstraints(max_length=20_000)] = ""


class AccountSettings(AccountVisibleSettings):
    """Every setting with its default; passwords are write-only."""

    smtp_password: SecretStr | None = None
    incoming_password: SecretStr | None = None


class AccountCreate(AccountSettings):
    email_address: Address
    # None: a company (shared) account. A user who is not an administrator may only
    # create personal accounts for themselves.
    owner_user_id: int | None = None


class AccountUpdate(AccountCreate):
    """Fields to change; a field left out keeps its value, null clears an optional one."""


class AccountOptionsUpdate(AccountOptions):
    """Options to set on every selected account; only the fields sent are changed."""


def _make_partial(model: type[BaseModel]) -> None:
    """Every field becomes not-required; `model_dump(exclude_unset=True)` yields what was sent.

    The types stay as they are, so `null` is refused where it means nothing (a boolean).
    """
    for info in model.model_fields.values():
        info.default = None
        info.default_factory = None
    model.model_rebuild(force=True)


_make_partial(AccountUpdate)
_make_partial(AccountOptionsUpdate)
