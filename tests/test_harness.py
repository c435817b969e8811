"""experiments/harness.py: rounds, medians, spreads and paired ratios, on a fake
clock whose every call takes a known time."""

from __future__ import annotations

import itertools

import pytest
from experiment_scripts import script

harness = script("harness")


class FakeClock:
    """A clock that each call of ``advance(name)`` moves by that call's next
    duration."""

    def __init__(self, durations: dict[str, list[float]]):
        self.now = 0.0
        self.durations = {name: iter(values) for name, values in durations.items()}
        self.calls = []

    def __call__(self) -> float:
        return self.now

    def call(self, name: str):
        def run():
            self.calls.append(name)
            self.now += next(self.durations[name])
            return name

        return run


def test_rounds_interleave_the_calls_and_skip_the_warmup():
    clock = FakeClock({"a": [9.0, 1.0, 2.0, 3.0], "b": [8.0, 4.0, 5.0, 6.0]})
    times = harness.time_rounds(
        {"a": clock.call("a"), "b": clock.call("b")}, repeats=3, warmup=1, clock=clock
    )
    assert clock.calls == ["a", "b"] * 4  # one of each per round, warm-up first
    assert times["a"].seconds == (1.0, 2.0, 3.0)
    assert times["b"].seconds == (4.0, 5.0, 6.0)
    assert times["a"].result == "a"


def test_a_lap_replaces_the_clock_and_carries_the_result():
    clock = FakeClock({"a": [5.0, 5.0]})

    def lapped():
        clock.call("a")()
        return harness.Lap(0.25, result=42)

    times = harness.time_rounds({"a": lapped}, repeats=2, warmup=0, clock=clock)
    assert times["a"].seconds == (0.25, 0.25) and times["a"].result == 42


def test_progress_names_every_round():
    said = []
    harness.time_rounds(
        {"a": lambda: None}, repeats=2, warmup=1, progress=said.append,
        clock=itertools.count().__next__,
    )  # fmt: skip
    assert said == ["warm-up 1/1: a", "round 1/2: a", "round 2/2: a"]


@pytest.mark.parametrize("repeats, warmup", [(0, 1), (1, -1)])
def test_rounds_refuse_nonsense(repeats, warmup):
    with pytest.raises(ValueError, match="repeats"):
        harness.time_rounds({"a": lambda: None}, repeats=repeats, warmup=warmup)


def test_spread_is_the_median_and_the_range():
    assert harness.Spread.of([3.0, 1.0, 2.0]) == harness.Spread(2.0, 1.0, 3.0)
    assert harness.Spread.of([4.0, 1.0, 2.0, 3.0]) == harness.Spread(2.5, 1.0, 4.0)
    with pytest.raises(ValueError):
        harness.Spread.of([])


def test_rate_is_work_over_each_rounds_seconds():
    row = harness.Row("s", "w", "impl", "x", "steps", 100, (1.0, 4.0, 2.0))
    assert row.rate == harness.Spread(50.0, 25.0, 100.0)
    assert harness.unavailable("s", "w", "impl", "x", "steps", "why").rate is None


def test_ratios_are_paired_by_round():
    # round 2 is disturbed for both: paired, its ratio is as steady as the others
    base = harness.Row("s", "w", "numpy", "NumPy", "steps", 100, (1.0, 3.0, 1.0))
    ours = harness.Row("s", "w", "ours", "ours", "steps", 200, (0.5, 1.5, 0.4))
    compared = ours.compared_with(base)
    assert compared.baseline == "NumPy"
    # per round (200/0.5)/(100/1) = 4, (200/1.5)/(100/3) = 4, (200/0.4)/100 = 5
    assert compared.ratio == pytest.approx(harness.Spread(4.0, 4.0, 5.0))
    # the unpaired ratio of medians would be 400 / 100 = 4 with spread 400/300..
    unpaired = harness.ratio((0.5, 1.5, 0.4, 0.5), 200, (1.0, 3.0, 1.0), 100)
    rate, base_rate = [400, 133.33, 500, 400], [100, 33.33, 100]
    assert unpaired.median == pytest.approx(400 / 100)
    assert unpaired.low == pytest.approx(min(rate) / max(base_rate), rel=1e-3)
    assert unpaired.high == pytest.approx(max(rate) / min(base_rate), rel=1e-3)


def test_rows_of_different_workloads_are_not_compared():
    a = harness.Row("s", "w1", "a", "a", "steps", 1, (1.0,))
    b = harness.Row("s", "w2", "b", "b", "steps", 1, (1.0,))
    with pytest.raises(ValueError, match="different workloads"):
        a.compared_with(b)


def test_an_unavailable_baseline_leaves_the_ratio_out():
    base = harness.unavailable("s", "w", "gymnax", "gymnax", "steps", "not installed")
    ours = harness.Row("s", "w", "ours", "ours", "steps", 1, (1.0,))
    compared = ours.compared_with(base)
    assert compared.baseline == "gymnax" and compared.ratio is None
    assert base.note == "unavailable: not installed"


def test_settings_default_to_three_rounds_or_one_when_quick():
    assert harness.Settings().rounds == 3
    assert harness.Settings(quick=True).rounds == 1
    assert harness.Settings(quick=True, repeats=5).rounds == 5
