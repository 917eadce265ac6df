"""Source "mx:<preset>": a custom domain whose mail goes to a known provider (e.g. Google)."""

from __future__ import annotations

from postroom.autoconfig.model import EmailAddress, Proposal
from postroom.autoconfig.options import DiscoveryConfig
from postroom.autoconfig.presets import preset_for_mx
from postroom.autoconfig.resolver import Resolver


async def lookup(
    email: EmailAddress, config: DiscoveryConfig, resolver: Resolver
) -> Proposal | None:
    """The preset matching the most preferred MX host (lowest preference number, RFC 5321)."""
    records = await resolver.mx(email.domain)
    if not records:
        return None
    _preference, host = min(records)
    preset = preset_for_mx(host)
    if preset is None:
        return None
    return preset.propose(email, f"mx:{preset.id}", mx_host=host)
