"""Interleaved timing: every contender runs once per round, in rotating order.

On a shared machine the speed changes from second to second. Timing method
A for a while and then method B would compare A's quiet minute with B's
busy one. Here each round runs every function once (the order rotates so
none is always first), so a ratio taken within one round compares two
runs made under the same conditions; the median over rounds then ignores
the rounds some other process spoiled.
"""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Collection, Iterator, Mapping

__all__ = ["Elapsed", "interleaved_times", "median_ratio", "stopwatch"]


@dataclass
class Elapsed:
    """Seconds a block took: ``wall`` on the clock, ``cpu`` of this process's own work.

    On a shared machine ``wall`` grows with the other programs' load, while
    ``cpu`` counts only the time this process computed (all its threads).
    """

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Elapsed]:
    """Time a ``with`` block: ``with stopwatch() as t: ...``, then ``t.wall`` and ``t.cpu`` in seconds.

    The times are filled in when the block ends, also when it raises.
    """
    elapsed = Elapsed()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield elapsed
    finally:
        elapsed.wall = time.perf_counter() - wall
        elapsed.cpu = time.process_time() - cpu


def interleaved_times(
    fns: Mapping[str, Callable[[], object]],
    rounds: int = 5,
    *,
    max_rounds: Mapping[str, int] | None = None,
    warmup: bool | Collection[str] = True,
) -> dict[str, list[float]]:
    """Time each function once per round, interleaved, in seconds.

    Args:
        fns: name -> function of no arguments.
        rounds: number of rounds.
        max_rounds: optional cap per name (slow functions take part only in
            the first rounds); by default every function runs every round.
        warmup: call each function once, untimed, before the first round
            (first calls allocate memory and pick kernels); ``True`` for all,
            or the names to warm up.

    Returns:
        name -> list of wall-clock times, one per round it took part in.
    """
    names = list(fns)
    caps = {name: rounds for name in names}
    caps.update(max_rounds or {})
    warm = set(names) if warmup is True else set(warmup or ())
    for name in names:
        if name in warm and caps[name] > 0:
            fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            if len(times[name]) >= caps[name]:
                continue
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(times: list[float], reference: list[float]) -> float:
    """Median over rounds of ``times[r] / reference[r]`` (rounds both took part in)."""
    pairs = list(zip(times, reference))
    if not pairs:
        raise ValueError("median_ratio needs at least one round timed for both functions.")
    return statistics.median(t / ref for t, ref in pairs)
