"""What an account's provider does for it: its daily sending limit, whether it files sent mail."""

from __future__ import annotations

from postroom.autoconfig.model import ServerKind
from postroom.autoconfig.presets import Preset, bundled_presets, preset_for_domain
from postroom.db.models import Account
from postroom.enums import IncomingProtocol


def preset_for(
    email_address: str, smtp_host: str, presets: tuple[Preset, ...] | None = None
) -> Preset | None:
    """The preset of the address's domain, else the one whose SMTP server the account uses
    (a company domain at Google Workspace sends through smtp.gmail.com)."""
    presets = bundled_presets() if presets is None else presets
    found = preset_for_domain(email_address.rpartition("@")[2], presets)
    if found is not None:
        return found
    host = smtp_host.lower().rstrip(".")
    for preset in presets:
        for server in preset.servers:
            if server.kind is ServerKind.SMTP and "%" not in server.host and server.host == host:
                return preset
    return None


def preset_of(account: Account, presets: tuple[Preset, ...] | None = None) -> Preset | None:
    return preset_for(account.email_address, account.smtp_host, presets)


def has_imap(account: Account) -> bool:
    return (
        account.incoming_protocol is IncomingProtocol.IMAP
        and bool(account.incoming_host)
        and bool(account.incoming_port)
    )


def needs_sent_copy(account: Account, presets: tuple[Preset, ...] | None = None) -> bool:
    """Whether Postroom must append sent mail to the account's Sent folder (C4): only over
    IMAP, and not where the provider files it itself (Gmail, Microsoft: presets.toml)."""
    if not has_imap(account):
        return False
    preset = preset_of(account, presets)
    return preset is None or not preset.stores_sent_mail
