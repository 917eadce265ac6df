"""`postroom campaign status`: the counts, and --follow's progress bar until it stops."""

from __future__ import annotations

from click.testing import CliRunner
from fastapi.testclient import TestClient

from postroom.cli import main
from postroom.db.base import utcnow
from postroom.services.runtime import Runtime
from tests.campaigns.support import (
    campaign_messages,
    create_campaign,
    feed,
    make_template,
    mark_sent,
    rows,
    sending_company,
)
from tests.support import Tenant


def _runner(runtime: Runtime) -> CliRunner:
    settings = runtime.settings
    assert settings.secret_key is not None
    return CliRunner(
        env={
            "POSTROOM_DATA_DIR": str(settings.data_dir),
            "POSTROOM_DATABASE_URL": settings.effective_database_url,
            "POSTROOM_SECRET_KEY": settings.secret_key.get_secret_value(),
        }
    )


def test_status_and_follow_until_completed(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    recipients = rows(3)
    recipients[2]["email"] = "zly"
    created = create_campaign(
        client,
        tenant.admin,
        name="Faktury",
        template_id=template["id"],
        recipients=recipients,
        start=True,
        send_valid_only=True,
    )
    feed(runtime, tenant, created["id"])
    runner = _runner(runtime)
    status = runner.invoke(main, ["campaign", "status", str(created["id"])])
    assert status.exit_code == 0, status.output
    assert "running: 1 of 3 done" in status.output
    assert "queued 2, pending 0" in status.output
    sent = [m.id for m in campaign_messages(runtime, tenant, created["id"])]
    mark_sent(runtime, tenant, sent, utcnow())
    feed(runtime, tenant, created["id"])
    followed = runner.invoke(main, ["campaign", "status", str(created["id"]), "--follow"])
    assert followed.exit_code == 0, followed.output
    assert "completed: 3 of 3 done (sent 2," in followed.output
    missing = runner.invoke(main, ["campaign", "status", "999999"])
    assert missing.exit_code == 1
    assert "Campaign 999999 does not exist." in missing.output
