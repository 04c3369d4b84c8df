"""Site climate and phenology: temperature normals, leaf cover, foliage colour, grass state.

Everything here is a closed-form function of the site (latitude, altitude, climate class,
hemisphere), the local date and a per-(seed, site, year) shift of the seasons.

Temperature normals (degrees C), from latitude ``|lat|``, altitude ``h`` (km) and the climate
class's continentality ``c`` (mild 0, temperate 0.5, snowy 1)::

    T_mean = 27 - 0.42 * max(|lat| - 12, 0) - 3 * c - 4 * h
    A      = (2 + 0.1 * |lat| + 5 * c) * (0.7 in the southern hemisphere, oceanic; else 1)

The climatological daily mean follows the season phase ``p`` (0 = 1 January north, 1 July
south; :func:`stbench.synth.sites.season_phase`) with the coldest day at ``p = 0.05``::

    T(p) = T_mean - A * cos(2 pi (p - tau - 0.05)),  limb s = sin(2 pi (p - tau - 0.05))

``s > 0`` on the warming (spring) limb, ``s < 0`` on the cooling (autumn) limb. ``tau`` is the
year's shift of the seasons in years (positive = late): a spring shift and an autumn shift per
site and season year, each ``N(0, 6 days)`` clipped to +-14 days and drawn from
``(seed, site, year)``, linearly interpolated in time between knots at ``p = 0.30`` (spring)
and ``p = 0.78`` (autumn) of consecutive years, so the shift is continuous.

Phenology follows ``T`` with thresholds that move 0.5 C with the limb (leaves come out a little
later in spring than they fall in autumn, at equal temperature), ``S(x) = 3x^2 - 2x^3`` on
``clip(x, 0, 1)``::

    q     = S((T - (6.5 + 0.5 s)) / 6)              leafing state, 0 dormant .. 1 full
    leaf  = 1 - 0.95 * k * (1 - q)                  leaf cover of deciduous crowns
    turn  = k * S((12 - T) / 7) * clip(0.5 - 2 s, 0, 1)   autumn colouring (none in spring)
    fresh = clip(2 s, 0, 1) * (1 - S((T - 12.5) / 6))     young light-green leaves in spring
    dormant = 1 - S(T / 8)                          grass gone straw-coloured by the cold
    dry   = summer_dry * S((T - 15) / 5)            grass dried by a dry summer

with ``k = 0.3`` at mild sites (mostly semi-evergreen crowns: little seasonal change) and 1
elsewhere. A site whose coldest month stays above ~12.5 C keeps full leaves all year.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from dataclasses import dataclass

import numpy as np

from stbench.synth.sites import Site, season_phase

__all__ = [
    "COLDEST_PHASE",
    "DayPhenology",
    "climate_temperature",
    "day_phenology",
    "season_shift_days",
    "season_year",
    "site_key",
    "temperature_amplitude",
    "temperature_mean",
]

#: Season phase of the coldest day (about 19 January north, 19 July south).
COLDEST_PHASE = 0.05
_CONTINENTALITY = {"mild": 0.0, "temperate": 0.5, "snowy": 1.0}
_SPRING_KNOT, _AUTUMN_KNOT = 0.30, 0.78
_SHIFT_SD_DAYS, _SHIFT_MAX_DAYS = 6.0, 14.0


def site_key(site: Site) -> int:
    """A stable integer of the site's name (Python's ``hash()`` is salted per process)."""
    return zlib.crc32(site.name.encode("utf-8"))


def _continentality(site: Site) -> float:
    if site.climate not in _CONTINENTALITY:
        raise ValueError(
            f"site {site.name!r} has unknown climate {site.climate!r}; "
            f"known: {', '.join(_CONTINENTALITY)}"
        )
    return _CONTINENTALITY[site.climate]


def temperature_mean(site: Site) -> float:
    """Annual mean of the daily mean temperature (C): latitude, climate class and altitude."""
    lat = abs(site.lat)
    c = _continentality(site)
    return 27.0 - 0.42 * max(lat - 12.0, 0.0) - 3.0 * c - 4.0 * site.altitude_m / 1000.0


def temperature_amplitude(site: Site) -> float:
    """Half the annual range of the daily mean temperature (C); smaller in the oceanic south."""
    c = _continentality(site)
    return (2.0 + 0.1 * abs(site.lat) + 5.0 * c) * (0.7 if site.southern else 1.0)


def season_year(date: dt.date, southern: bool) -> int:
    """The year a season phase runs in: the calendar year north, July..June south."""
    if southern:
        return date.year if date.month >= 7 else date.year - 1
    return date.year


@functools.lru_cache(maxsize=1024)
def _year_shifts(site: Site, year: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng([seed, 0x5EA5, site_key(site), year + 10_000])
    spring, autumn = rng.normal(0.0, _SHIFT_SD_DAYS, 2)
    cap = _SHIFT_MAX_DAYS
    return float(np.clip(spring, -cap, cap)), float(np.clip(autumn, -cap, cap))


def season_shift_days(date: dt.date, site: Site, seed: int = 0) -> float:
    """How many days late (positive) or early (negative) the seasons run on ``date`` at ``site``.

    Deterministic in ``(seed, site, season year)``; continuous in time (see the module doc).
    """
    year = season_year(date, site.southern)
    t = year + season_phase(date, site.southern)
    knots, values = [], []
    for y in (year - 1, year, year + 1):
        spring, autumn = _year_shifts(site, y, seed)
        knots += [y + _SPRING_KNOT, y + _AUTUMN_KNOT]
        values += [spring, autumn]
    return float(np.interp(t, knots, values))


def _phase_angle(date: dt.date, site: Site, seed: int) -> float:
    tau = season_shift_days(date, site, seed) / 365.25
    return 2.0 * np.pi * (season_phase(date, site.southern) - tau - COLDEST_PHASE)


def climate_temperature(date: dt.date, site: Site, seed: int = 0) -> float:
    """Climatological daily mean temperature (C) of ``date`` at ``site``, with the year's shift."""
    angle = _phase_angle(date, site, seed)
    return temperature_mean(site) - temperature_amplitude(site) * float(np.cos(angle))


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class DayPhenology:
    """State of the vegetation on one day at one site (all 0..1 except ``temperature``).

    Attributes:
        temperature: climatological daily mean (C) with the year's shift.
        leaf: leaf cover of deciduous crowns (0.05 bare .. 1 full).
        turn: share of autumn colour in the remaining leaves.
        fresh: share of young, light-green leaves (spring).
        dormant: grass browned by the cold.
        dry: grass dried by summer drought.
    """

    temperature: float
    leaf: float
    turn: float
    fresh: float
    dormant: float
    dry: float


@functools.lru_cache(maxsize=8192)
def day_phenology(date: dt.date, site: Site, seed: int = 0) -> DayPhenology:
    """The vegetation of a local ``date`` at ``site`` (formulas in the module doc)."""
    if isinstance(date, dt.datetime):
        date = date.date()
    angle = _phase_angle(date, site, seed)
    temp = temperature_mean(site) - temperature_amplitude(site) * float(np.cos(angle))
    limb = float(np.sin(angle))
    k = 0.3 if site.climate == "mild" else 1.0
    q = _smooth((temp - (6.5 + 0.5 * limb)) / 6.0)
    return DayPhenology(
        temperature=temp,
        leaf=1.0 - 0.95 * k * (1.0 - q),
        turn=k * _smooth((12.0 - temp) / 7.0) * min(max(0.5 - 2.0 * limb, 0.0), 1.0),
        fresh=min(max(2.0 * limb, 0.0), 1.0) * (1.0 - _smooth((temp - 12.5) / 6.0)),
        dormant=1.0 - _smooth(temp / 8.0),
        dry=site.summer_dry * _smooth((temp - 15.0) / 5.0),
    )
