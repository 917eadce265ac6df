"""Campaign benchmark (issue 7): 10,000 recipients, each with personal variables and a 100 KB
personal PDF, rendered, queued and delivered to Postfix's smtp-sink.

Cases, each the median of --runs runs; every ratio is the median of each run's own pair (the
two measured minutes apart in the same run), in wall time and in this process's CPU time (the
CPU time is less disturbed by other work on a shared machine):
  plain_enqueue        the same messages (same subjects, bodies and PDFs, already written out)
                       queued 100 per transaction by message_batch.submit_messages (what
                       POST /messages/batch does): the plain outbox path
  plain_enqueue_keyed  the same with an idempotency key per message, as a host application that
                       retries safely sends them (and as the campaign's messages carry them)
  campaign_create      the campaign made and its rows stored and checked (every row rendered
                       once to find missing variables), before anything is sent
  campaign_feed        the worker's feeder: each row rendered and queued (render+enqueue);
                       its ratios are what rendering and the campaign's bookkeeping add
  plain_delivery, campaign_delivery   the outbox worker delivering them to smtp-sink
  memory               peak RSS while the campaign is created and fed, and the RSS at each
                       quarter of the feed (flat: the campaign is never held in memory whole)

    python3 -m benchmarks.bench_campaign [--recipients 10000] [--runs 3] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from benchmarks.common import (
    bench_options,
    count_by_status,
    emit,
    empty_outbox,
    median,
    runtime_for,
    setup_company,
    smtp_sink,
    workdir,
)
from sqlalchemy import insert, select, text

from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_outbox import StoredFile
from postroom.enums import DocumentKind, Role
from postroom.services import (
    campaign_control,
    campaigns,
    files,
    template_render,
    templates,
)
from postroom.services.campaign_feeder import FeedOptions, feed_campaign
from postroom.services.campaign_schemas import CampaignCreate, RecipientRow
from postroom.services.delivery import DeliveryEngine
from postroom.services.message_batch import submit_messages
from postroom.services.message_schemas import AttachmentRef, MessageCreate, RecipientIn
from postroom.services.runtime import Runtime
from postroom.services.template_schemas import TemplateCreate

PDF_BYTES = 100 * 1024
BATCH = 100
SUBJECT = "Faktura {{ invoice_no }} za {{ period }}"
HTML = """<p>Dzień dobry {{ name }},</p>
<p>w załączniku przesyłamy fakturę <strong>{{ invoice_no }}</strong> za {{ period }}
na kwotę <strong>{{ amount|money("PLN") }}</strong>, płatną do {{ due|date }}.</p>
<table>
  <tr><th>Pozycja</th><th>Kwota</th></tr>
  {% for line in lines %}<tr><td>{{ line.name }}</td><td>{{ line.amount|money("PLN") }}</td></tr>
  {% endfor %}
</table>
<p>Numer rachunku: {{ account_no }}</p>
<p>Pozdrawiamy,<br>Biuro Rachunkowe Alfa</p>
"""
LINE_NAMES = ("Księgowość pełna", "Kadry i płace", "Deklaracje VAT")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    variables: dict[str, object]
    file_id: int


@dataclass
class RssSampler:
    """The process's resident memory, sampled every 0.1 s in a thread: the peak, and readings
    (seconds since start, KB) to tell whether it grows with the rows handled."""

    peak_kb: int = 0
    readings: list[tuple[float, int]] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _start: float = field(default_factory=time.perf_counter)

    @staticmethod
    def now_kb() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    def mark(self, label: str) -> None:
        self.marks[label] = time.perf_counter() - self._start

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            kb = self.now_kb()
            self.peak_kb = max(self.peak_kb, kb)
            self.readings.append((time.perf_counter() - self._start, kb))

    def at_fractions(self, begin: str, end: str) -> dict[str, float]:
        """RSS (MB) at 25, 50, 75 and 100 % of the time between two marks."""
        first, last = self.marks[begin], self.marks[end]
        found = {}
        for pct in (25, 50, 75, 100):
            when = first + (last - first) * pct / 100
            kb = min(self.readings, key=lambda r: abs(r[0] - when))[1] if self.readings else 0
            found[f"feed_{pct}pct"] = round(kb / 1024, 1)
        return found

    @contextmanager
    def sampling(self) -> Iterator[RssSampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def _variables(n: int) -> dict[str, object]:
    base = Decimal(100 + n % 900)
    lines = [{"name": name, "amount": str(base * (i + 1))} for i, name in enumerate(LINE_NAMES)]
    return {
        "invoice_no": f"FV/{n}/11/2026",
        "period": "listopad 2026",
        "amount": str(base * 6),
        "due": "2026-12-15",
        "lines": lines,
        "account_no": f"PL61 1090 1014 0000 0712 1981 {n % 10000:04d}",
    }


def _store_pdfs(runtime: Runtime, company_id: int, admin_id: int, count: int) -> list[int]:
    """`count` personal PDFs of 100 KB, stored as uploads are (bytes in the file store, rows
    in stored_files); their ids in order."""
    store = files.file_store(runtime.settings)
    rows = []
    for n in range(count):
        data = b"%PDF-1.4\n" + os.urandom(PDF_BYTES - 9)
        blob = store.put(_Reader(data), max_bytes=PDF_BYTES * 2)
        rows.append(
            {
                "company_id": company_id,
                "uploaded_by_user_id": admin_id,
                "filename": f"Faktura_{n}_11_2026.pdf",
                "content_type": "application/pdf",
                "size": blob.size,
                "sha256": blob.sha256,
                "storage_key": blob.key,
                "created_at": utcnow(),
            }
        )
    with runtime.engine.begin() as connection:
        for start in range(0, count, 1000):
            connection.execute(insert(StoredFile.__table__), rows[start : start + 1000])
        found = connection.execute(select(StoredFile.id).order_by(StoredFile.id)).scalars()
        return list(found)


class _Reader:
    """A file-like over bytes, as FileStore.put reads an upload."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk


def _admin(runtime: Runtime, company_id: int) -> int:
    with runtime.tenant(company_id) as session:
        found = session.scalar(select(User.id).where(User.role == Role.ADMIN))
        assert found is not None
        return found


def _template(runtime: Runtime, company_id: int, admin_id: int) -> int:
    with runtime.tenant(company_id) as session:
        actor = session.get(User, admin_id)
        assert actor is not None
        made = templates.create_template(
            session,
            actor=actor,
            data=TemplateCreate(
                name="Faktura miesięczna",
                document_kind=DocumentKind.INVOICE,
                subject=SUBJECT,
                html=HTML,
            ),
        )
        return made.template.id


def _plain_requests(
    compiled: template_render.CompiledTemplate,
    chunk: list[Recipient],
    account: int,
    keyed: bool = False,
) -> list[MessageCreate]:
    """The campaign's messages written out beforehand: what a host application would send
    (`keyed`: each with an idempotency key, as one that retries safely does)."""
    requests = []
    for item in chunk:
        rendered = template_render.render(compiled, {**item.variables, "name": item.name})
        requests.append(
            MessageCreate(
                to=[RecipientIn(address=item.email, name=item.name)],
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                attachments=[AttachmentRef(file_id=item.file_id)],
                document_kind=DocumentKind.INVOICE,
                from_own_template=True,
                account_id=account,
                idempotency_key=f"bench:{item.email}" if keyed else None,
            )
        )
    return requests


def _plain_enqueue(
    runtime: Runtime, company_id: int, admin_id: int, batches: list[list[MessageCreate]]
) -> float:
    """The plain outbox path: each batch through message_batch.submit_messages (what
    POST /messages/batch does), one transaction per batch."""
    start = time.perf_counter()
    for batch in batches:
        with runtime.tenant(company_id) as session:
            actor = session.get(User, admin_id)
            assert actor is not None
            submit_messages(session, actor=actor, requests=batch, runtime=runtime)
    return time.perf_counter() - start


def _deliver(runtime: Runtime) -> float:
    engine = DeliveryEngine(runtime, worker_id="bench:campaign:1", options=bench_options(10))
    start = time.perf_counter()
    asyncio.run(engine.run(asyncio.Event(), until_idle=True))
    return time.perf_counter() - start


def _create(
    runtime: Runtime,
    company_id: int,
    admin_id: int,
    template_id: int,
    people: list[Recipient],
    account: int,
) -> tuple[int, float]:
    rows = [
        RecipientRow(
            email=p.email, name=p.name, variables=p.variables, attachment_file_ids=[p.file_id]
        )
        for p in people
    ]
    request = CampaignCreate(
        name=f"Faktury {uuid.uuid4().hex[:6]}",
        template_id=template_id,
        account_id=account,
        recipients=rows,
    )
    start = time.perf_counter()
    with runtime.tenant(company_id) as session:
        actor = session.get(User, admin_id)
        assert actor is not None
        created = campaigns.create_campaign(session, actor=actor, request=request, runtime=runtime)
        assert created.report.valid == len(people), created.report
        campaign_control.start_campaign(session, actor=actor, campaign=created.campaign)
        campaign_id = created.campaign.id
    return campaign_id, time.perf_counter() - start


def _feed(runtime: Runtime, company_id: int, campaign_id: int, total: int) -> float:
    """Feed the whole campaign as the worker does: turns of up to 10 s each."""
    options = FeedOptions(batch=BATCH)
    queued = 0
    start = time.perf_counter()
    while queued < total:
        result = feed_campaign(
            runtime, company_id, campaign_id, worker_id="bench:feeder", options=options
        )
        assert result.failed == 0 and result.queued > 0, result
        queued += result.queued
    return time.perf_counter() - start


def _forget_campaigns(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        for table in ("survey_answers", "campaign_recipients", "campaigns", "unsubscribes"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608  (fixed names)


def _timed(
    case: str, times: dict[str, list[tuple[float, float]]], run: Callable[[], object]
) -> None:
    """Wall and CPU seconds of `run`: the CPU time of this process is less disturbed by the
    other work of a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    times.setdefault(case, []).append((time.perf_counter() - wall, time.process_time() - cpu))


def _one_run(
    runtime: Runtime,
    ids: tuple[int, int, int, int],
    people: list[Recipient],
    times: dict[str, list[tuple[float, float]]],
) -> RssSampler:
    company_id, account, admin_id, template_id = ids
    n = len(people)
    with runtime.tenant(company_id) as session:
        compiled = template_render.compile_version(templates.get_version(session, template_id))
    for case, keyed in (("plain_enqueue", False), ("plain_enqueue_keyed", True)):
        batches = [
            _plain_requests(compiled, people[i : i + BATCH], account, keyed)
            for i in range(0, n, BATCH)
        ]
        empty_outbox(runtime)
        _timed(case, times, lambda b=batches: _plain_enqueue(runtime, company_id, admin_id, b))
        del batches
    _timed("plain_delivery", times, lambda: _deliver(runtime))
    assert count_by_status(runtime) == {"sent": n}, count_by_status(runtime)
    empty_outbox(runtime)
    _forget_campaigns(runtime)
    rss = RssSampler()
    found: list[int] = []
    with rss.sampling():
        rss.mark("before_create")
        _timed(
            "campaign_create",
            times,
            lambda: found.append(
                _create(runtime, company_id, admin_id, template_id, people, account)[0]
            ),
        )
        rss.mark("feed_start")
        _timed("campaign_feed", times, lambda: _feed(runtime, company_id, found[0], n))
        rss.mark("feed_end")
    _timed("campaign_delivery", times, lambda: _deliver(runtime))
    assert count_by_status(runtime) == {"sent": n}, count_by_status(runtime)
    return rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    n = args.recipients
    times: dict[str, list[tuple[float, float]]] = {}
    samples: list[RssSampler] = []
    with workdir() as directory, smtp_sink() as port:
        runtime = runtime_for(args.backend, Path(directory) / args.backend)
        company_id, account, _token = setup_company(runtime, port)
        admin_id = _admin(runtime, company_id)
        template_id = _template(runtime, company_id, admin_id)
        file_ids = _store_pdfs(runtime, company_id, admin_id, n)
        people = [
            Recipient(f"klient{i}@example.test", f"Klient {i}", _variables(i), file_ids[i])
            for i in range(n)
        ]
        for _ in range(args.runs):
            samples.append(
                _one_run(runtime, (company_id, account, admin_id, template_id), people, times)
            )
        runtime.close()
    walls = {case: [wall for wall, _ in pairs] for case, pairs in times.items()}
    cpus = {case: [cpu for _, cpu in pairs] for case, pairs in times.items()}
    for case, values in walls.items():
        seconds = median(values)
        extra: dict[str, object] = {"median_cpu_seconds": median(cpus[case])}
        baselines = {
            "campaign_feed": ("plain_enqueue", "plain_enqueue_keyed"),
            "campaign_create": ("plain_enqueue",),
            "plain_enqueue_keyed": ("plain_enqueue",),
            "campaign_delivery": ("plain_delivery",),
        }.get(case, ())
        for base in baselines:
            # Each run's pair, measured minutes apart, then the median: less noise.
            extra[f"ratio_to_{base}"] = median(
                [c / b for c, b in zip(values, walls[base], strict=True)]
            )
            extra[f"cpu_ratio_to_{base}"] = median(
                [c / b for c, b in zip(cpus[case], cpus[base], strict=True)]
            )
        emit(
            case,
            backend=args.backend,
            recipients=n,
            pdf_bytes=PDF_BYTES,
            runs=len(values),
            median_seconds=seconds,
            msgs_per_second=round(n / seconds, 1),
            **extra,
        )
    last = samples[-1]
    emit(
        "memory",
        backend=args.backend,
        recipients=n,
        peak_rss_mb=round(max(s.peak_kb for s in samples) / 1024, 1),
        rss_mb=last.at_fractions("feed_start", "feed_end"),
    )


if __name__ == "__main__":
    main()
