"""The capture schedule of a synthetic webcam and the faults injected into it, with ground truth.

A stream is planned before anything is rendered: :func:`plan_stream` turns a :class:`StreamSpec`
into one :class:`PlannedFrame` per archive member and one :class:`Fault` per injected fault. The
plan says *what* each member holds (a fresh render, a stale copy, nothing ...) and *how* it is named;
:mod:`stbench.synth.webcams` then renders and writes it.

Time conventions (all UTC unless said otherwise):

- ``capture_utc``: when the camera took the picture for this slot (schedule + a few minutes' jitter;
  the schedule has a random per-camera phase and shifts by a non-whole number of hours each day,
  so captures fall anywhere within the hour).
- ``download_utc``: when the archiver fetched it, ``capture_utc`` + 1..7 minutes. A correct AMOS
  name is this time in UTC (AMOS names frames at download time).
- ``name_time``: the naive date-time actually written in the member name
  (``YYYYMMDD_HHMMSS.jpg``); ``name_time - download_utc`` is the naming error in seconds
  (``name_error_s``): the zone's offset in a local-time era, the clock error in an offset or drift era.
- ``content_time``: the time the pixels show (the source frame's capture time for stale copies).

Fault kinds (``Fault.kind``; ``amount_s`` in seconds):

- ``local_time``: names in local *standard* time instead of UTC; amount = the zone's standard offset
  (e.g. -21600 for America/Chicago), constant over the era.
- ``clock_offset``: the clock is off by a fixed amount (>= 1 h) over an era.
- ``clock_drift``: the clock drifts linearly from 0 at ``start_utc`` to ``amount_s`` at ``end_utc``.
- ``frozen``: the camera stalls and the server keeps serving one picture for >= 3 consecutive slots,
  as identical bytes or near-identical re-encodes; amount = age of the stale picture at the end.
- ``duplicate``: the same bytes stored a second time under a name 30 s..15 min later; amount = the
  name difference; the time range is the duplicate's download time.
- ``zero_byte``: an empty member (amount 0). ``truncated``: a JPEG cut to 30..80 % of its bytes,
  so it has no end-of-image marker and strict decoders fail (amount 0; the share kept is in
  ``detail``).
- ``gap``: days without any frame; the interval is half-open ``[start_utc, end_utc)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "PlannedFrame",
    "Scenario",
    "StreamSpec",
    "plan_stream",
    "standard_offset_s",
]


FAULT_KINDS: tuple[str, ...] = (
    "local_time",
    "clock_offset",
    "clock_drift",
    "frozen",
    "duplicate",
    "zero_byte",
    "truncated",
    "gap",
)

_DELAY_S = (60, 420)  # download delay after capture
_JITTER_S = 300  # capture jitter around the schedule, +-


@dataclass(frozen=True)
class Scenario:
    """Which faults a camera gets (all fractions are of the stream's duration).

    Attributes:
        local_time_until: the stream is named in local standard time until this fraction, then UTC
            (nothing is injected where the zone's standard time is UTC).
        clock_offset: (start fraction, end fraction, offset in s) of an era with a wrong clock.
        clock_drift: (start fraction, end fraction, drift reached at the end in s), linear.
        frozen_runs: number of frozen runs; each serves one picture for 3..8 further slots.
        duplicates: number of frames stored twice under two names.
        zero_byte: number of empty members.
        truncated: number of JPEGs cut short.
        gaps: number of gaps of 2..9 days without frames.
    """

    local_time_until: float | None = None
    clock_offset: tuple[float, float, int] | None = None
    clock_drift: tuple[float, float, int] | None = None
    frozen_runs: int = 0
    duplicates: int = 0
    zero_byte: int = 0
    truncated: int = 0
    gaps: int = 0


@dataclass(frozen=True)
class StreamSpec:
    """One camera's schedule.

    Attributes:
        camera_id: 8-digit id.
        tz: IANA zone of the camera (for local-time naming).
        start: first day (UTC midnight) of the stream.
        end: end of the stream (exclusive, UTC).
        interval_min: minutes between slots within a day.
        daily_shift_min: the day's slot grid is shifted by this much more each day (mod interval),
            so a camera samples every hour of the day over a few days; not a multiple of 60, so
            it also samples every minute of the hour (see :func:`_schedule`).
        scenario: injected faults.
        day_step: capture in cycles of ``day_step`` days (1: every day).
        days_on: capture on the first ``days_on`` days of each cycle (consecutive days, so the
            clock fit's 3-day windows still hold enough frames in a sparse stream).
    """

    camera_id: str
    tz: str
    start: pd.Timestamp
    end: pd.Timestamp
    interval_min: int
    daily_shift_min: int
    scenario: Scenario = field(default_factory=Scenario)
    day_step: int = 1
    days_on: int = 1


@dataclass
class PlannedFrame:
    """One archive member: what it holds and how it is named.

    ``content`` is ``render`` (a fresh picture), ``copy`` (the bytes of frame ``source``),
    ``reencode`` (frame ``source`` decoded and encoded again), ``zero`` (no bytes) or
    ``truncated`` (a fresh render cut to ``keep_fraction`` of its bytes).
    """

    capture_utc: pd.Timestamp
    download_utc: pd.Timestamp
    name_time: pd.Timestamp  # naive
    content: str = "render"
    source: int = -1  # index of the frame whose picture this member shows (-1: itself)
    keep_fraction: float = 1.0
    faults: list[str] = field(default_factory=list)

    @property
    def member(self) -> str:
        return self.name_time.strftime("%Y%m%d_%H%M%S") + ".jpg"

    @property
    def archive(self) -> str:
        return self.name_time.strftime("%Y.%m") + ".zip"


@dataclass(frozen=True)
class Fault:
    """One injected fault (a row of ``truth/webcam_faults.parquet``)."""

    camera_id: str
    start_utc: pd.Timestamp
    end_utc: pd.Timestamp
    kind: str
    amount_s: int
    detail: str


def standard_offset_s(tz: str, when: pd.Timestamp) -> int:
    """The zone's standard (non-DST) offset from UTC in seconds at ``when``."""
    local = when.to_pydatetime().astimezone(ZoneInfo(tz))
    return int((local.utcoffset() - (local.dst() or dt.timedelta(0))).total_seconds())


def _schedule(spec: StreamSpec, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Capture times: a per-camera phase, a daily shift of the slot grid, and jitter.

    The camera's phase (0..interval) is drawn from ``rng``; day ``d``'s slots start at
    ``(phase + d * daily_shift_min) % interval_min`` minutes after UTC midnight. With a shift
    that is not a multiple of 60 the minute of the hour walks through the whole hour from day to
    day, so captures are spread uniformly within the hour (no bias toward a full hour).
    """
    days = pd.date_range(spec.start, spec.end, freq="1D", inclusive="left")
    days = days[np.arange(len(days)) % spec.day_step < spec.days_on]
    per_day = max(1, (24 * 60) // spec.interval_min)
    day_index = np.arange(len(days))
    phase = int(rng.integers(0, spec.interval_min))
    shift = (phase + day_index * spec.daily_shift_min) % spec.interval_min
    minutes = shift[:, None] + spec.interval_min * np.arange(per_day)[None, :]
    jitter = rng.integers(-_JITTER_S, _JITTER_S + 1, size=minutes.shape)
    seconds = (minutes * 60 + jitter).astype("timedelta64[s]")
    times = (days.tz_convert(None).to_numpy().astype("datetime64[s]")[:, None] + seconds).ravel()
    times = pd.DatetimeIndex(np.sort(times)).tz_localize("UTC").as_unit("us")
    return times[(times >= spec.start) & (times < spec.end)]


def _era(times: pd.DatetimeIndex, spec: StreamSpec, frac0: float, frac1: float):
    span = spec.end - spec.start
    start = (spec.start + span * frac0).floor("D")
    end = (spec.start + span * frac1).floor("D")
    return start, end, (times >= start) & (times < end)


def plan_stream(
    spec: StreamSpec, rng: np.random.Generator
) -> tuple[list[PlannedFrame], list[Fault]]:
    """Plan every member of one camera's stream and list its injected faults.

    Args:
        spec: the camera's schedule and scenario.
        rng: the camera's random generator (the plan is a pure function of it and ``spec``).
    Returns:
        frames sorted by download time (duplicates follow their original) and the faults.
    """
    sc, cam = spec.scenario, spec.camera_id
    faults: list[Fault] = []
    times = _schedule(spec, rng)

    # Gaps: whole days without frames, one in each of ``gaps`` equal parts of the stream.
    keep = np.ones(len(times), dtype=bool)
    n_days = (spec.end - spec.start).days
    for k in range(sc.gaps):
        length = int(rng.integers(2, 10))
        lo, hi = n_days * k // sc.gaps, n_days * (k + 1) // sc.gaps - length
        start = spec.start + pd.Timedelta(days=int(rng.integers(lo, max(lo + 1, hi))))
        end = start + pd.Timedelta(days=length)
        keep &= ~((times >= start) & (times < end))
        seconds = int((end - start).total_seconds())
        faults.append(Fault(cam, start, end, "gap", seconds, f"no frames for {length} days"))
    times = times[keep]

    delays = pd.to_timedelta(rng.integers(_DELAY_S[0], _DELAY_S[1] + 1, len(times)), unit="s")
    download = times + delays
    error_s = np.zeros(len(times), dtype=np.int64)
    era_faults: list[list[str]] = [[] for _ in times]

    def mark(mask: np.ndarray, kind: str) -> None:
        for i in np.flatnonzero(mask):
            era_faults[i].append(kind)

    local_offset = standard_offset_s(spec.tz, spec.start)
    # In a zone whose standard time is UTC (Europe/Lisbon) such names are correct: no fault.
    if sc.local_time_until is not None and local_offset != 0:
        start, end, mask = _era(times, spec, 0.0, sc.local_time_until)
        offset = standard_offset_s(spec.tz, start)
        error_s[mask] += offset
        mark(mask, "local_time")
        hours = offset / 3600
        faults.append(
            Fault(
                cam,
                start,
                end,
                "local_time",
                offset,
                f"named in local standard time of {spec.tz} (UTC{hours:+g} h) instead of UTC",
            )
        )
    if sc.clock_offset is not None:
        frac0, frac1, amount = sc.clock_offset
        start, end, mask = _era(times, spec, frac0, frac1)
        error_s[mask] += amount
        mark(mask, "clock_offset")
        faults.append(
            Fault(
                cam,
                start,
                end,
                "clock_offset",
                int(amount),
                f"camera clock off by {amount / 3600:+g} h",
            )
        )
    if sc.clock_drift is not None:
        frac0, frac1, amount = sc.clock_drift
        start, end, mask = _era(times, spec, frac0, frac1)
        elapsed = (times[mask] - start).total_seconds().to_numpy()
        duration = (end - start).total_seconds()
        error_s[mask] += np.round(amount * elapsed / duration).astype(np.int64)
        mark(mask, "clock_drift")
        rate = amount / duration * 86400
        faults.append(
            Fault(
                cam,
                start,
                end,
                "clock_drift",
                int(amount),
                f"clock drifts linearly from 0 s to {amount:+d} s ({rate:+.1f} s/day)",
            )
        )

    frames = [
        PlannedFrame(t, d, (d + pd.Timedelta(seconds=int(e))).tz_convert(None), faults=list(f))
        for t, d, e, f in zip(times, download, error_s, era_faults, strict=True)
    ]
    names = _make_names_unique(frames)
    free = np.ones(len(frames), dtype=bool)
    faults += _inject_content_faults(frames, free, sc, cam, rng)
    frames, dup_faults = _add_duplicates(frames, free, sc, cam, rng, names)
    faults += dup_faults
    faults.sort(key=lambda f: (f.start_utc, f.kind))
    return frames, faults


def _pick(free: np.ndarray, n: int, rng: np.random.Generator, run: int = 1) -> list[int]:
    """``n`` start indices of runs of ``run`` free frames, one per n-th of the stream; marks them used."""
    picked = []
    n_frames = len(free)
    for k in range(n):
        lo, hi = n_frames * k // n, n_frames * (k + 1) // n
        for _ in range(50):
            i = int(rng.integers(lo, max(lo + 1, hi - run)))
            if i + run <= n_frames and free[i : i + run].all():
                free[i : i + run] = False
                picked.append(i)
                break
    return picked


def _stamp(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _inject_content_faults(
    frames: list[PlannedFrame], free: np.ndarray, sc: Scenario, cam: str, rng
) -> list[Fault]:
    faults = []
    for k, i in enumerate(_pick(free, sc.frozen_runs, rng, run=9)):
        length = int(rng.integers(3, 9))
        how = "copy" if k % 2 == 0 else "reencode"
        for j in range(i + 1, i + 1 + length):
            frames[j].content, frames[j].source = how, i
            frames[j].faults.append("frozen")
        start, end = frames[i + 1].capture_utc, frames[i + length].capture_utc
        age = int((end - frames[i].capture_utc).total_seconds())
        what = "identical bytes" if how == "copy" else "near-identical re-encodes"
        detail = f"{length} frames serve the picture of {_stamp(frames[i].capture_utc)} ({what})"
        faults.append(Fault(cam, start, end, "frozen", age, detail))
    for i in _pick(free, sc.zero_byte, rng):
        frame = frames[i]
        frame.content = "zero"
        frame.faults.append("zero_byte")
        t = frame.capture_utc
        faults.append(Fault(cam, t, t, "zero_byte", 0, f"empty member {frame.member}"))
    for i in _pick(free, sc.truncated, rng):
        frame = frames[i]
        frame.content, frame.keep_fraction = "truncated", float(rng.uniform(0.3, 0.8))
        frame.faults.append("truncated")
        t, kept = frame.capture_utc, round(100 * frame.keep_fraction)
        detail = f"{frame.member} cut to {kept} % of its bytes"
        faults.append(Fault(cam, t, t, "truncated", 0, detail))
    return faults


def _add_duplicates(
    frames: list[PlannedFrame], free: np.ndarray, sc: Scenario, cam: str, rng, names: set
) -> tuple[list[PlannedFrame], list[Fault]]:
    originals = set(_pick(free, sc.duplicates, rng))
    out: list[PlannedFrame] = []
    faults = []
    for i, frame in enumerate(frames):
        out.append(frame)
        if i not in originals:
            continue
        delta = int(rng.integers(30, 900))
        while frame.name_time + pd.Timedelta(seconds=delta) in names:
            delta += 1
        dup = PlannedFrame(
            frame.capture_utc,
            frame.download_utc + pd.Timedelta(seconds=delta),
            frame.name_time + pd.Timedelta(seconds=delta),
            content="copy",
            source=i,
            faults=[*frame.faults, "duplicate"],
        )
        names.add(dup.name_time)
        out.append(dup)
        detail = f"{dup.member} repeats the bytes of {frame.member}"
        faults.append(Fault(cam, dup.download_utc, dup.download_utc, "duplicate", delta, detail))
    # ``source`` indexed ``frames``; remap to indices into ``out``.
    position = {id(f): k for k, f in enumerate(out)}
    for f in out:
        if f.source >= 0:
            f.source = position[id(frames[f.source])]
    return out, faults


def _make_names_unique(frames: list[PlannedFrame]) -> set[pd.Timestamp]:
    """Bump colliding names by a second (a clock stepping back can repeat a name)."""
    seen: set[pd.Timestamp] = set()
    for frame in frames:
        while frame.name_time in seen:
            frame.name_time += pd.Timedelta(seconds=1)
        seen.add(frame.name_time)
    return seen
