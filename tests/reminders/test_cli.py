"""`postroom reminders upcoming`: the plan of one company, one line per reminder."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from postroom.cli import main
from postroom.services.reminder_scheduler import office_today
from postroom.services.runtime import Runtime
from tests.reminders.support import make_client
from tests.support import Tenant


def test_upcoming_lists_the_companys_reminders(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = make_client(runtime, tenant.company_id, "Apteka Centrum", documents_day=None)
    make_client(runtime, other_tenant.company_id, "Firma Obca")
    settings = runtime.settings
    assert settings.secret_key is not None
    runner = CliRunner(
        env={
            "POSTROOM_DATA_DIR": str(settings.data_dir),
            "POSTROOM_DATABASE_URL": settings.effective_database_url,
            "POSTROOM_SECRET_KEY": settings.secret_key.get_secret_value(),
        }
    )
    year = office_today(datetime.now(UTC), settings.local_timezone).year + 2
    result = runner.invoke(
        main,
        ["reminders", "upcoming", "--company", str(tenant.company_id),
         "--start", f"{year}-03-01", "--end", f"{year}-03-31"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == f"3 to go out from {year}-03-01 to {year}-03-31."
    assert all(f"Apteka Centrum [{mine}]" in line for line in lines[:-1])
    assert [line.split()[4] for line in lines[:-1]] == ["income_tax", "zus", "vat"]
