"""The installed `postroom` script: what a spawned parse worker pays for it (console.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "postroom"

# What multiprocessing's spawn does in a child before any task: run the parent's main
# script as __mp_main__ (multiprocessing.spawn._fixup_main_from_path).
RERUN_AS_SPAWN_DOES = """
import runpy, sys
runpy.run_path(sys.argv[1], run_name="__mp_main__")
heavy = ("postroom.cli", "postroom.services", "sqlalchemy", "fastapi", "email.mime")
print(",".join(name for name in heavy if name in sys.modules))
"""


def test_a_spawned_process_rerunning_the_script_imports_none_of_the_application() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RERUN_AS_SPAWN_DOES, str(SCRIPT)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == ""


def test_the_script_still_runs_the_command_line() -> None:
    done = subprocess.run(
        [str(SCRIPT), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "version" in done.stdout
