"""What one template rendering may spend: time, output size, the size of values it builds."""

# A template is code written by a company's user and run on our server, thousands of times per
# campaign. The sandbox (template_sandbox.py) keeps it away from Python internals; these limits
# keep it from taking the server down with a loop, a huge string or a value built by doubling.
# They are checked from inside the rendering (every loop step, call, operator, filter and output
# chunk), because a template that produces no output for a minute would never reach a check
# placed only between output chunks.

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from postroom.enums import Language

# Integers beyond this many bits are refused: 4096 bits are 1233 digits, far more than any
# amount needs, and far less than what makes `9**9**9` or squaring in a loop take minutes.
MAX_INT_BITS = 4096
# Numbers in a %-format (width, precision) above this are refused: `'%0999999999d' % 1`.
MAX_FORMAT_NUMBER = 1000


class TemplateLimitError(Exception):
    """The rendering went over a limit; `limit` is "time", "size" or "number"."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message


@dataclass(frozen=True)
class RenderLimits:
    """The most one message's rendering (subject, HTML and text together) may take."""

    timeout_seconds: float = 2.0
    max_output_chars: int = 1_000_000


@dataclass
class RenderState:
    """The running budget of one rendering; filters also read its language from here."""

    limits: RenderLimits
    language: Language
    deadline: float = 0.0
    output_chars: int = 0

    def tick(self) -> None:
        """One step (a loop iteration, a call, an operator): fail once time is up."""
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                "time",
                f"Rendering took longer than {self.limits.timeout_seconds:g} s; "
                "simplify the loops of the template.",
            )

    def check_size(self, size: int) -> None:
        if size > self.limits.max_output_chars:
            raise TemplateLimitError(
                "size",
                f"The template would produce more than {self.limits.max_output_chars} "
                "characters; a message cannot be that large.",
            )

    def add_output(self, size: int) -> None:
        self.output_chars += size
        self.check_size(self.output_chars)
        self.tick()


_STATE: ContextVar[RenderState | None] = ContextVar("postroom_template_state", default=None)


def current() -> RenderState:
    state = _STATE.get()
    if state is None:  # a template run outside `rendering()` would have no limits at all
        raise RuntimeError("templates are rendered only inside template_limits.rendering()")
    return state


@contextmanager
def rendering(limits: RenderLimits, language: Language) -> Iterator[RenderState]:
    """The budget of one message; every part rendered inside the block shares it."""
    state = RenderState(limits, language, deadline=time.monotonic() + limits.timeout_seconds)
    token = _STATE.set(state)
    try:
        yield state
    finally:
        _STATE.reset(token)


_CONTAINERS = (list, tuple, set, frozenset, dict)


def weight(value: object, state: RenderState) -> int:
    """How large `value` becomes once written out: characters of strings plus one per item,
    counted through nested lists (each repetition of a shared list counts again, which is
    what `str()` of `[[x] * 1000] * 1000` would cost). Fails as soon as it is too large."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 1
    return _container_weight(value, state, {})


def _container_weight(value: object, state: RenderState, memo: dict[int, int]) -> int:
    known = memo.get(id(value))
    if known is not None:
        return known
    memo[id(value)] = 1  # a cycle (only a namespace can make one) counts once
    items: list[object] = (
        [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)  # type: ignore[call-overload]
    )
    total = 1
    for item in items:
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, _CONTAINERS):
            total += _container_weight(item, state, memo)
        else:
            total += 1
        state.check_size(total)
    memo[id(value)] = total
    return total


def check_value(value: object) -> None:
    """Refuse a value too large to be written out (see `weight`)."""
    state = current()
    state.check_size(weight(value, state))
