"""The lookup chain: a preset by domain, else autoconfig, SRV, MX and guess in parallel."""

from __future__ import annotations

import logging
import time

from postroom.autoconfig import guess, ispconfig, mx, srv
from postroom.autoconfig.model import EmailAddress, Proposal
from postroom.autoconfig.options import DiscoveryConfig
from postroom.autoconfig.presets import preset_for_domain
from postroom.autoconfig.race import race, spawn
from postroom.autoconfig.resolver import Resolver

log = logging.getLogger("postroom.autoconfig")

# Highest priority first: the domain's own file, its SRV records, the provider behind its MX,
# and last a guess. All start together; a lower one is used only once every higher one has
# found nothing, or when the time is up and it is the best that answered.
_STEPS = (
    ("autoconfig", ispconfig.lookup),
    ("srv", srv.lookup),
    ("mx", mx.lookup),
    ("guess", guess.lookup),
)


def nothing_found(email: EmailAddress) -> Proposal:
    return Proposal(
        source="none",
        advice=(
            f"No settings were found for {email.domain}. Enter the server names your mail "
            "provider gives (often on its help pages under IMAP/SMTP or mail program settings).",
        ),
    )


async def discover(email: EmailAddress, config: DiscoveryConfig) -> Proposal:
    """Proposed settings for `email`; never raises for network trouble and never takes longer
    than `config.total_timeout`."""
    preset = preset_for_domain(email.domain)
    if preset is not None:
        return preset.propose(email, f"preset:{preset.id}")
    started = time.monotonic()
    resolver = Resolver(config)
    tasks = [spawn(step(email, config, resolver), name) for name, step in _STEPS]
    proposal = await race(tasks, config.total_timeout) or nothing_found(email)
    log.info(
        "autodiscovery for %s: %s in %.2fs",
        email.domain,
        proposal.source,
        time.monotonic() - started,
        extra={"domain": email.domain, "source": proposal.source},
    )
    return proposal
