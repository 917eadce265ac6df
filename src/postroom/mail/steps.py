"""Running a probe as named steps: timing, the deadline, and failures turned into advice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from postroom.mail.diagnose import DiagnosisContext, diagnose
from postroom.mail.report import Advice, ProbeReport, Step, StepName, StepStatus

ProgressCallback = Callable[[ProbeReport], None]
NOT_REACHED = "not reached"


class StepFailedError(Exception):
    """A step failed (or `stop`ped the probe) and is recorded; the probe ends here. Never
    leaves the probe modules."""

    def __init__(self, step: Step) -> None:
        super().__init__(step.detail)
        self.step = step


@dataclass
class StepDraft:
    """What the body of a step fills in while it runs."""

    detail: str = ""
    advice: Advice | None = None  # a hint on a successful step (e.g. no Sent folder found)
    advice_text: str | None = None


@dataclass
class StepRecorder:
    """Collects the steps of one probe; every step shares one deadline (loop time)."""

    context: DiagnosisContext
    deadline: float
    plan: Sequence[StepName] = ()
    progress: ProgressCallback | None = None
    steps: list[Step] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)  # tls_version, tls_cipher, sent_folder
    started: float = field(default_factory=time.monotonic)

    @asynccontextmanager
    async def step(self, name: StepName) -> AsyncIterator[StepDraft]:
        """Run the body as step `name`; a failure is recorded and raised as StepFailedError."""
        draft = StepDraft()
        start = time.monotonic()
        try:
            async with asyncio.timeout_at(self.deadline):
                yield draft
        except StepFailedError as inner:  # a sub-session's step (round trip): shown as this one
            failed = replace(
                inner.step,
                name=name,
                duration_ms=_ms_since(start),
                detail=f"{inner.step.name.value}: {inner.step.detail}",
            )
            self._add(failed)
            raise StepFailedError(failed) from inner
        except Exception as exc:
            found = diagnose(self.context, name, exc)
            failed = Step(
                name,
                StepStatus.FAILED,
                _ms_since(start),
                found.detail,
                found.server_reply,
                found.advice,
                found.advice_text,
            )
            self._add(failed)
            raise StepFailedError(failed) from exc
        self._add(
            Step(
                name,
                StepStatus.OK,
                _ms_since(start),
                draft.detail,
                advice=draft.advice,
                advice_text=draft.advice_text,
            )
        )

    def skip(self, name: StepName, why: str) -> None:
        self._add(Step(name, StepStatus.SKIPPED, detail=why))

    def stop(self, name: StepName, why: str, advice: Advice, advice_text: str) -> None:
        """Skip `name` with advice and end the probe there, without a failure."""
        step = Step(name, StepStatus.SKIPPED, 0, why, None, advice, advice_text)
        self._add(step)
        raise StepFailedError(step)

    def _add(self, step: Step) -> None:
        self.steps.append(step)
        if self.progress is not None:
            self.progress(self.report())

    def report(self) -> ProbeReport:
        """The steps so far, followed by the planned steps not reached (status skipped)."""
        done = [s.name for s in self.steps]
        rest = list(self.plan)
        for name in done:  # each recorded step uses up its first planned occurrence
            if name in rest:
                rest.remove(name)
        pending = tuple(Step(name, StepStatus.SKIPPED, detail=NOT_REACHED) for name in rest)
        ctx = self.context
        return ProbeReport(
            kind=ctx.kind,
            host=ctx.endpoint.host,
            port=ctx.endpoint.port,
            security=ctx.endpoint.security,
            steps=(*self.steps, *pending),
            duration_ms=_ms_since(self.started),
            tls_version=self.facts.get("tls_version"),
            tls_cipher=self.facts.get("tls_cipher"),
            sent_folder=self.facts.get("sent_folder"),
        )


def _ms_since(start: float) -> int:
    return round((time.monotonic() - start) * 1000)


def loop_deadline(seconds: float) -> float:
    """The loop time `seconds` from now, for asyncio.timeout_at."""
    return asyncio.get_running_loop().time() + seconds
