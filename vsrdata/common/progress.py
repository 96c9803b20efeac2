"""One typed protocol for long work to say how far it got (build, crawl, train, eval, upscale).

The work calls a :data:`Reporter` with events; whoever runs it decides how to show them (the
CLI turns them into rich progress bars, :class:`Tracker` into a state a web page polls). Events
are small frozen dataclasses, so they pickle across processes (the build's worker pool sends
them through a queue) and compare equal in tests.

- :class:`Start`: a countable task begins, or its total becomes known (``total`` units,
  ``done`` of them finished before, e.g. on resume). Starting a task again resets its count
  (the eval's per-clip frame bar) and keeps its clock.
- :class:`Advance`: ``n`` more units of a task are done; ``fewer`` shrinks the total when the
  work finds less than it announced (a container that ends early).
- :class:`Item`: a piece of work finished, with its record (a clip's outcome, a unit's stats).
- :class:`Note`: a line for the user (resuming, skipping a source).
- :class:`Metrics`: scalars at a training step: series ``train`` (loss, learning rate) and
  ``val`` (the validation scores), the curves a front end draws.

Task names in use: ``clips``, ``frames``, ``units`` (build, eval, upscale), ``steps`` (train)
and ``<source>: <keyword>`` (crawl).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Start:
    task: str
    total: int | None = None
    done: int = 0
    label: str = ""  # shown instead of the task name (e.g. the clip being scored)


@dataclass(frozen=True)
class Advance:
    task: str
    n: int = 1
    fewer: int = 0


@dataclass(frozen=True)
class Item:
    kind: str
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    text: str
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True)
class Metrics:
    series: str
    step: int
    values: Mapping[str, float]


Event = Start | Advance | Item | Note | Metrics
Reporter = Callable[[Event], None]


def silent(event: Event) -> None:
    """The reporter of work nobody watches."""


@dataclass
class TaskState:
    """One task's progress as :class:`Tracker` follows it."""

    total: int | None = None
    done: int = 0
    label: str = ""
    started: float = 0.0  # monotonic seconds
    first: int = 0  # done at the start, so resumed work does not inflate the rate

    def rate(self, now: float) -> float:
        """Units per second since the task started."""
        elapsed = now - self.started
        return (self.done - self.first) / elapsed if elapsed > 0 else 0.0

    def remaining(self, now: float) -> float | None:
        """Seconds left at the current rate (None while unknown)."""
        rate = self.rate(now)
        if self.total is None or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate


class Tracker:
    """Follows the events of one run into a state another thread may read at any time: per
    task done, total, rate and time left; the latest metrics per series; items and notes.
    It is a :data:`Reporter`; a web page's job list polls :meth:`snapshot`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tasks: dict[str, TaskState] = {}
        self.metrics: dict[str, dict[str, Any]] = {}
        self.items: list[Item] = []
        self.notes: list[Note] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Start):
                state = self.tasks.get(event.task)
                if state is None:
                    state = self.tasks[event.task] = TaskState(started=self.clock())
                state.total, state.done, state.label = event.total, event.done, event.label
                state.first = event.done
            elif isinstance(event, Advance):
                state = self.tasks.setdefault(event.task, TaskState(started=self.clock()))
                state.done += event.n
                if event.fewer and state.total is not None:
                    state.total = max(state.total - event.fewer, state.done)
            elif isinstance(event, Metrics):
                self.metrics[event.series] = {"step": event.step, **event.values}
            elif isinstance(event, Item):
                self.items.append(event)
            elif isinstance(event, Note):
                self.notes.append(event)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the state."""
        with self._lock:
            now = self.clock()
            tasks = {
                name: {
                    "label": s.label or name, "done": s.done, "total": s.total,
                    "rate": s.rate(now), "remaining_seconds": s.remaining(now),
                }
                for name, s in self.tasks.items()
            }  # fmt: skip
            return {
                "tasks": tasks,
                "metrics": {k: dict(v) for k, v in self.metrics.items()},
                "notes": [n.text for n in self.notes],
            }
