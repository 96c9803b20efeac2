"""The progress protocol: events pickle and compare, a tracker adds them up, the CLI draws them."""

from __future__ import annotations

import importlib
import pickle

import pytest
from rich.console import Console

from vsrdata.common.progress import Advance, Event, Item, Metrics, Note, Start, Tracker, silent

cli_app = importlib.import_module("vsrdata.cli.app")  # the package exports the Typer app as `app`

EVENTS: list[Event] = [
    Start("frames", 10),
    Advance("frames", 4),
    Advance("frames", 0, fewer=2),
    Item("clip", {"clip_id": "a", "frames": 8}),
    Note("resuming", "warning"),
    Metrics("train", 3, {"loss": 0.5, "learning_rate": 1e-3}),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_cross_processes_unchanged(event: Event) -> None:
    assert pickle.loads(pickle.dumps(event)) == event
    silent(event)


def test_tracker_counts_rates_and_time_left() -> None:
    now = [100.0]
    tracker = Tracker(clock=lambda: now[0])
    tracker(Start("steps", 100, done=20))  # a resumed run: 20 steps were done before
    now[0] += 10.0
    for _ in range(40):
        tracker(Advance("steps"))
    tracker(Metrics("train", 60, {"loss": 0.25}))
    snap = tracker.snapshot()["tasks"]["steps"]
    assert (snap["done"], snap["total"]) == (60, 100)
    assert snap["rate"] == pytest.approx(4.0)  # 40 new steps in 10 s, not 60
    assert snap["remaining_seconds"] == pytest.approx(10.0)
    assert tracker.snapshot()["metrics"]["train"] == {"step": 60, "loss": 0.25}


def test_tracker_shrinks_totals_and_restarts_tasks() -> None:
    tracker = Tracker(clock=lambda: 0.0)
    for event in EVENTS:
        tracker(event)
    assert (tracker.tasks["frames"].done, tracker.tasks["frames"].total) == (4, 8)
    tracker(Start("frames", 5, label="clip b"))  # the next clip's frames count from 0
    assert (tracker.tasks["frames"].done, tracker.tasks["frames"].total) == (0, 5)
    snap = tracker.snapshot()
    assert snap["tasks"]["frames"]["label"] == "clip b" and snap["notes"] == ["resuming"]
    assert snap["tasks"]["frames"]["remaining_seconds"] is None  # no time has passed
    assert [i.record["clip_id"] for i in tracker.items] == ["a"]


def test_cli_bars_draw_every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(record=True, width=120, force_terminal=False)
    monkeypatch.setattr(cli_app, "err", console)
    with cli_app.Bars() as bars:
        bars(Note("resuming: [3] of 4 units done"))  # markup in text is shown as written
        for event in EVENTS:
            bars(event)
        bars(Advance("frames", 4))
        bars(Start("clips", 0))  # nothing to do: hidden
    text = console.export_text()
    assert "resuming: [3] of 4 units done" in text and "resuming" in text
    frames = bars.progress.tasks[bars.tasks["frames"]]
    assert (frames.completed, frames.total) == (8, 8)
    assert not bars.progress.tasks[bars.tasks["clips"]].visible
