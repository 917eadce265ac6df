"""The platform's VAPID key pair: made once even by processes starting together, rotated with
`postroom secrets rotate`, made at app start and at worker start."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from postroom.app import create_app
from postroom.config import Settings
from postroom.db.models_channels import VapidKey
from postroom.notify.webpush import public_key_of
from postroom.secrets import SecretBox, new_key, parse_keys
from postroom.services import rotation, vapid_keys
from postroom.services.runtime import Runtime, build_runtime
from postroom.worker.loop import DEFAULT_JOBS, PeriodicJob, run_worker
from postroom.worker.push import send_push_messages


def _rows(runtime: Runtime) -> list[VapidKey]:
    with runtime.platform() as session:
        rows = list(session.scalars(select(VapidKey)))
        session.expunge_all()
        return rows


def test_processes_starting_at_once_make_one_key(settings: Settings) -> None:
    """Each thread is a process of its own (own engine); all end up with the same key."""
    runtimes = [build_runtime(settings) for _ in range(4)]
    found: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(runtimes))

    def boot(runtime: Runtime) -> None:
        start.wait()
        try:
            found.append(vapid_keys.ensure_vapid_key(runtime))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=boot, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(set(found)) == 1 and len(found) == 4
        [row] = _rows(runtimes[0])
        assert row.public_key == found[0]
        pem = runtimes[0].secret_box.decrypt(row.private_key_encrypted)
        assert public_key_of(pem) == row.public_key  # the pair belongs together
    finally:
        for runtime in runtimes:
            runtime.close()


def test_the_app_and_the_worker_make_it_at_start(settings: Settings, tmp_path: Path) -> None:
    app_runtime = build_runtime(settings)
    try:
        assert _rows(app_runtime) == []
        with TestClient(create_app(app_runtime)):
            [row] = _rows(app_runtime)
    finally:
        app_runtime.close()
    assert any(job.run is send_push_messages for job in DEFAULT_JOBS)

    # Another installation: a fresh SQLite database of its own.
    worker_settings = settings.model_copy(
        update={"data_dir": tmp_path / "worker", "database_url": None}
    )
    worker_runtime = build_runtime(worker_settings)
    try:
        from postroom.db.migrate import upgrade

        upgrade(worker_runtime.engine)
        assert _rows(worker_runtime) == []
        stop = asyncio.Event()
        job = PeriodicJob("send web push", 2, send_push_messages)

        async def one_round() -> None:
            task = asyncio.create_task(
                run_worker(worker_runtime, stop, (job,), delivery=False, fetching=False)
            )
            while not _rows(worker_runtime):
                await asyncio.sleep(0.05)
            stop.set()
            await task

        asyncio.run(asyncio.wait_for(one_round(), timeout=30))
        assert len(_rows(worker_runtime)) == 1
        assert _rows(worker_runtime)[0].public_key != row.public_key  # its own database
    finally:
        worker_runtime.close()


def test_secrets_rotate_reencrypts_the_vapid_private_key(settings: Settings) -> None:
    assert settings.secret_key is not None
    old_key = settings.secret_key.get_secret_value()
    first = build_runtime(settings)
    public = vapid_keys.ensure_vapid_key(first)
    [before] = _rows(first)
    pem = first.secret_box.decrypt(before.private_key_encrypted)
    first.close()

    newest = new_key()
    rotated_settings = settings.model_copy(update={"secret_key": SecretStr(f"{newest},{old_key}")})
    second = build_runtime(rotated_settings)
    try:
        assert rotation.reencrypt_all(second) >= 1
        [after] = _rows(second)
    finally:
        second.close()
    assert after.private_key_encrypted != before.private_key_encrypted
    assert after.public_key == public
    assert SecretBox(parse_keys(newest)).decrypt(after.private_key_encrypted) == pem
