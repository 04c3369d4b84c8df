"""Daily weather of a site: a small stochastic climate simulation with a snowpack.

One realisation per ``(seed, site)``: each local day gets a weather kind (clear, overcast, rain,
fog, snowfall) and a snow cover that depends on the days before it. Days are simulated a year
at a time, vectorised where the days are independent and in one pass where they are not
(wet spells, temperature anomalies, the snowpack). Formulas (``w = cos(2 pi (p - 0.05))``,
1 mid-winter .. -1 mid-summer, ``p`` the season phase)::

    temperature  T_d = T(p_d) + a_d,  a_d = 0.8 a_{d-1} + 1.8 z_d     (sd 3 C; T from phenology)
    wet days     P(wet) = clip(0.55 * cloud * (1 + 0.3 w) * (1 - summer_dry * max(-w, 0)), .02, .7)
                 as a two-state Markov chain with persistence 0.4 (wet spells of a few days)
    precip kind  snowfall if T_d < 0.5 C and the site can snow (climate not mild, snow > 0)
    snowpack     D_d = 0.97 D_{d-1} + snowfall_cm - 1.2 max(T_d, 0) - 2 rain_d - 0.6 sunny_d (cm)
                 snowfall_cm = (2 + 10 * snow) * intensity, intensity ~ U(0.25, 1)
    snow cover   min(D_d / 15, 1) ** 0.6 on upward-facing surfaces
    overcast     wet days; dry days with P = clip((cloud - P(wet)) / (1 - P(wet)), .05, .9)
    fog          dry days with P = min(0.9, fog * (0.6 + 0.8 max(w, 0)) * (1.6 after a wet day)),
                 extinction U(0.004, 0.02) / m (visibility ~150..750 m)
    wet ground   1 on rain days, 0.4 the day after rain or while snow melts, else 0

A year is simulated from 1 January of the year before (a spin-up: wet spells, anomalies and
snowpacks forget their start within weeks and every summer melts the pack), so a day's weather
does not depend on which days were asked for first.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

from stbench.synth.phenology import (
    COLDEST_PHASE,
    climate_temperature,
    site_key,
)
from stbench.synth.sites import Site, season_phase

__all__ = [
    "WEATHER_KINDS",
    "Weather",
    "can_snow",
    "climate_summary",
    "day_weather",
    "photo_odds",
    "year_weather",
]

#: Weather kinds, in the order :attr:`Weather.kind` tests them (last wins ties: a snowy, foggy
#: day is "snowfall").
WEATHER_KINDS = ("clear", "overcast", "fog", "rain", "snowfall")


@dataclass(frozen=True)
class Weather:
    """Weather of one day (or moment).

    Attributes:
        cloud_cover: 0 (clear) .. 1 (overcast); >= 0.85 means no direct sun (no shadows).
        fog: extinction coefficient in 1/m (0 = clear air; 0.01 ~ 300 m visibility).
        snow: 0..1 snow cover on upward-facing surfaces (lying snow).
        rain: 0 (dry) .. 1 (heavy rain) falling now.
        snowfall: 0 (none) .. 1 (heavy) snow falling now.
        wet: 0..1 wetness of the ground (dark, glossy).
    """

    cloud_cover: float = 0.2
    fog: float = 0.0
    snow: float = 0.0
    rain: float = 0.0
    snowfall: float = 0.0
    wet: float = 0.0

    @property
    def overcast(self) -> bool:
        return self.cloud_cover >= 0.85

    @property
    def kind(self) -> str:
        """One of :data:`WEATHER_KINDS`: snowfall, rain, fog, overcast or clear (first that holds)."""
        if self.snowfall > 0:
            return "snowfall"
        if self.rain > 0:
            return "rain"
        if self.fog > 0:
            return "fog"
        return "overcast" if self.overcast else "clear"


#: Relative rate of tourist photos by weather kind (people photograph less in bad weather).
_PHOTO_ODDS = {"clear": 1.0, "overcast": 0.7, "fog": 0.4, "rain": 0.25, "snowfall": 0.35}


def photo_odds(weather: Weather) -> float:
    """Relative rate (0..1, clear = 1) at which tourists take photos in ``weather``."""
    return _PHOTO_ODDS[weather.kind]


def can_snow(site: Site) -> bool:
    """Whether snow ever falls at ``site``: never at mild sites or sites with ``snow == 0``."""
    return site.climate != "mild" and site.snow > 0


def _days_of(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


@functools.lru_cache(maxsize=64)
def _draws(site: Site, seed: int, year: int) -> np.ndarray:
    """(days, 8) uniform draws of one calendar year (column order fixed by :func:`_simulate`)."""
    rng = np.random.default_rng([seed, 0x3EA7, site_key(site), year + 10_000])
    return rng.random((len(_days_of(year)), 8))


@functools.lru_cache(maxsize=64)
def year_weather(site: Site, year: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Daily weather of calendar ``year`` (local dates) at ``site``: arrays indexed by day of year.

    Keys: ``temperature`` (C), ``cloud_cover``, ``fog``, ``snow`` (cover), ``snow_depth`` (cm),
    ``rain``, ``snowfall``, ``wet`` (see :class:`Weather`). Deterministic in (seed, site, year).
    """
    days = _days_of(year - 1) + _days_of(year)
    u = np.concatenate([_draws(site, seed, year - 1), _draws(site, seed, year)])
    n = len(days)
    phase = np.array([season_phase(d, site.southern) for d in days])
    winter = np.cos(2 * np.pi * (phase - COLDEST_PHASE))
    base = np.array([climate_temperature(d, site, seed) for d in days])
    p_wet = np.clip(
        0.55 * site.cloud * (1 + 0.3 * winter) * (1 - site.summer_dry * np.clip(-winter, 0, None)),
        0.02,
        0.7,
    )
    persist = 0.4
    p_stay, p_start = p_wet + persist * (1 - p_wet), p_wet * (1 - persist)
    # Normal innovations of the temperature anomaly from two uniforms (Box-Muller).
    z = np.sqrt(-2 * np.log1p(-u[:, 0])) * np.cos(2 * np.pi * u[:, 1])
    intensity = 0.25 + 0.75 * u[:, 3]
    snowy_site = can_snow(site)
    snowfall_cm = (2.0 + 10.0 * site.snow) * intensity
    p_ovc = np.clip((site.cloud - p_wet) / (1 - p_wet), 0.05, 0.9)
    overcast_dry = u[:, 4] < p_ovc

    temperature = np.empty(n)
    wet = np.zeros(n, dtype=bool)
    depth = np.zeros(n)
    anomaly, was_wet, pack = 0.0, False, 0.0
    for d in range(n):
        anomaly = 0.8 * anomaly + 1.8 * z[d]
        temp = base[d] + anomaly
        was_wet = u[d, 2] < (p_stay[d] if was_wet else p_start[d])
        temperature[d], wet[d] = temp, was_wet
        falls_snow = was_wet and snowy_site and temp < 0.5
        pack *= 0.97
        if falls_snow:
            pack += snowfall_cm[d]
        melt = 1.2 * max(temp, 0.0)
        if was_wet and not falls_snow:
            melt += 2.0
        elif not was_wet and not overcast_dry[d]:
            melt += 0.6
        pack = max(pack - melt, 0.0)
        depth[d] = pack
    snowing = wet & snowy_site & (temperature < 0.5)
    raining = wet & ~snowing
    cloud = np.where(
        wet,
        0.88 + 0.12 * u[:, 5],
        np.where(overcast_dry, 0.85 + 0.15 * u[:, 5], (0.6 * u[:, 5]) ** 1.5),
    )
    after_wet = np.concatenate([[False], wet[:-1]])
    p_fog = np.minimum(0.9, site.fog * (0.6 + 0.8 * np.clip(winter, 0, None)))
    p_fog = p_fog * np.where(after_wet, 1.6, 1.0)
    fog = np.where(~wet & (u[:, 6] < p_fog), 0.004 + 0.016 * u[:, 7], 0.0)
    melting = (depth > 0) & (temperature > 0)
    wet_ground = np.where(raining, 1.0, np.where((after_wet & ~snowing) | melting, 0.4, 0.0))
    keep = slice(n - len(_days_of(year)), n)
    out = {
        "temperature": temperature,
        "cloud_cover": cloud,
        "fog": fog,
        "snow": np.minimum(depth / 15.0, 1.0) ** 0.6,
        "snow_depth": depth,
        "rain": np.where(raining, intensity, 0.0),
        "snowfall": np.where(snowing, intensity, 0.0),
        "wet": wet_ground,
    }
    for value in out.values():
        value.setflags(write=False)
    return {key: value[keep] for key, value in out.items()}


def day_weather(site: Site, date: dt.date, seed: int = 0) -> Weather:
    """The weather of a local ``date`` at ``site`` in the world of ``seed``.

    Every camera and photo at one site asking for one day (with one seed) gets the same weather;
    lying snow follows the simulated days before (see the module doc).
    """
    if isinstance(date, dt.datetime):
        date = date.date()
    table = year_weather(site, date.year, seed)
    i = date.timetuple().tm_yday - 1
    return Weather(
        cloud_cover=float(table["cloud_cover"][i]),
        fog=float(table["fog"][i]),
        snow=float(table["snow"][i]),
        rain=float(table["rain"][i]),
        snowfall=float(table["snowfall"][i]),
        wet=float(table["wet"][i]),
    )


def climate_summary(year: int, seed: int = 0) -> list[dict]:
    """Per site: weather-kind counts of ``year``, share of Dec-Feb (north) / Jun-Aug (south) days
    with lying snow, and the days deciduous crowns cross half cover (the numbers in the docs)."""
    from stbench.synth.phenology import day_phenology
    from stbench.synth.sites import SITES

    rows = []
    days = _days_of(year)
    for site in SITES:
        table = year_weather(site, year, seed)
        kinds = [day_weather(site, d, seed).kind for d in days]
        winter_months = (6, 7, 8) if site.southern else (12, 1, 2)
        winter = np.array([d.month in winter_months for d in days])
        leaf = np.array([day_phenology(d, site, seed).leaf for d in days])
        half = np.nonzero(np.diff(np.sign(leaf - 0.5)) != 0)[0] + 1
        rows.append(
            {
                "site": site.name,
                "climate": site.climate,
                **{kind: kinds.count(kind) for kind in WEATHER_KINDS},
                "winter_snow": round(float(np.mean(table["snow"][winter] > 0)), 2),
                "leaf_range": round(float(leaf.max() - leaf.min()), 2),
                "leaf_half": " ".join(f"{days[i]:%m-%d}" for i in half),
            }
        )
    return rows


if __name__ == "__main__":
    import argparse

    import pandas as pd

    parser = argparse.ArgumentParser(description="Weather and phenology of every site in a year.")
    parser.add_argument("--year", type=int, default=2019)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(pd.DataFrame(climate_summary(args.year, args.seed)).to_string(index=False))
