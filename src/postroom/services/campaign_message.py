"""One campaign row as a message: its variables and links, the rendered template, and the
List-Unsubscribe headers of newsletters (RFC 2369, RFC 8058)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.config import Settings
from postroom.db.models_campaigns import Campaign, CampaignRecipient
from postroom.enums import CampaignKind
from postroom.mail import mime_headers
from postroom.services import list_unsubscribe, template_render
from postroom.services.campaign_checks import BULK_KINDS
from postroom.services.campaign_templates import SendAs
from postroom.services.message_schemas import AttachmentRef, MessageCreate, RecipientIn

UNSUBSCRIBE_PATH = "/u/"
SURVEY_PATH = "/s/"


@dataclass(frozen=True)
class Links:
    """The recipient's own public pages: the token in the path is their only credential."""

    unsubscribe: str
    survey: str


@dataclass(frozen=True)
class PreparedMessage:
    """What the outbox gets for one row: the message and the headers added to it."""

    recipient_id: int
    row_number: int
    request: MessageCreate
    headers: tuple[tuple[str, str], ...]


def links_for(settings: Settings, token: str) -> Links:
    base = settings.effective_public_url
    return Links(f"{base}{UNSUBSCRIBE_PATH}{token}", f"{base}{SURVEY_PATH}{token}")


def idempotency_key(campaign_id: int, row_number: int) -> str:
    """One outbox message per row, ever: queuing a row twice (a crash between the outbox's
    commit and the row's, two feeders) returns the first message instead of a second one."""
    return f"campaign:{campaign_id}:row:{row_number}"


def variables_of(recipient: CampaignRecipient, links: Links, kind: CampaignKind) -> dict[str, Any]:
    return {
        **recipient.variables,
        "email": recipient.email,
        "name": recipient.name,
        "unsubscribe_url": links.unsubscribe,
        "survey_link": links.survey if kind is CampaignKind.SURVEY else "",
    }


def unsubscribe_headers(url: str, mailto: str | None) -> tuple[tuple[str, str], ...]:
    """Both headers with one-click (RFC 8058) when Postroom is reached over https; otherwise
    List-Unsubscribe alone (RFC 2369), since one-click requires an https URI (§3.1)."""
    try:
        mailto = ascii_address(mailto) if mailto else None
    except InvalidAddressError:
        mailto = None
    if url.startswith("https://"):
        return tuple(list_unsubscribe.header_values(url, mailto))
    tokens = [f"<{url}>"] + ([f"<mailto:{mailto}>"] if mailto else [])
    folded = mime_headers.fold("List-Unsubscribe", tokens, separator=", ")
    return (("List-Unsubscribe", folded),)


def prepare(
    *,
    campaign: Campaign,
    recipient: CampaignRecipient,
    compiled: template_render.CompiledTemplate,
    what: SendAs,
    mailto: str | None,
    settings: Settings,
) -> PreparedMessage:
    """Render the row's message; TemplateRenderError when this row's data breaks the template."""
    links = links_for(settings, recipient.token)
    rendered = template_render.render(compiled, variables_of(recipient, links, campaign.kind))
    request = MessageCreate(
        to=[RecipientIn(address=recipient.email, name=recipient.name)],
        subject=rendered.subject,
        html=rendered.html or None,
        text=rendered.text or None,
        attachments=[AttachmentRef(file_id=i) for i in recipient.attachment_file_ids],
        document_kind=what.document_kind,
        from_own_template=what.from_own_template,
        project_id=campaign.project_id,
        account_id=campaign.account_id,
        idempotency_key=idempotency_key(campaign.id, recipient.row_number),
    )
    headers = unsubscribe_headers(links.unsubscribe, mailto) if campaign.kind in BULK_KINDS else ()
    return PreparedMessage(recipient.id, recipient.row_number, request, headers)
