"""Places of the synthetic world: real coordinates and IANA zones, a climate for the weather."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["SITES", "Site", "season_phase", "site_by_name", "to_local"]


@dataclass(frozen=True)
class Site:
    """A town's location.

    Attributes:
        name: short identifier (lowercase, no spaces).
        lat: latitude in degrees, north positive.
        lon: longitude in degrees, east positive.
        tz: IANA time zone of the place, e.g. ``"Europe/Vienna"``.
        snow: how snowy winters are, 0 (never) .. 1 (snow most winter days).
        cloud: how often days are overcast, 0..1.
        fog: how often mornings are foggy, 0..1.
        evergreen: share of evergreen trees, 0..1.
    """

    name: str
    lat: float
    lon: float
    tz: str
    snow: float = 0.3
    cloud: float = 0.4
    fog: float = 0.1
    evergreen: float = 0.2

    @property
    def southern(self) -> bool:
        """True for sites south of the equator (seasons shifted by half a year)."""
        return self.lat < 0

    def local_date(self, time_utc: dt.datetime) -> dt.date:
        """The civil date at the site for a UTC time (tz-aware or naive meaning UTC)."""
        return to_local(time_utc, self.tz).date()


def to_local(time_utc: dt.datetime, tz: str) -> dt.datetime:
    """Convert a UTC time (tz-aware, or naive meaning UTC) to local time in zone ``tz``."""
    from zoneinfo import ZoneInfo

    if time_utc.tzinfo is None:
        time_utc = time_utc.replace(tzinfo=dt.timezone.utc)
    return time_utc.astimezone(ZoneInfo(tz))


def season_phase(date: dt.date, southern: bool) -> float:
    """Day of the year as a fraction 0..1, shifted by half a year in the southern hemisphere.

    0 is 1 January in the north (mid-winter), 0.5 is early July (mid-summer), for either
    hemisphere after the shift.
    """
    day = (date.timetuple().tm_yday - 1) / 365.25
    return (day + 0.5) % 1.0 if southern else day


#: Towns of the world: the first four host the "tourist photo" scenes of the default preset.
SITES: tuple[Site, ...] = (
    Site("innsbruck", 47.2692, 11.4041, "Europe/Vienna", snow=0.7, cloud=0.45, fog=0.15),
    Site("madison", 43.0731, -89.4012, "America/Chicago", snow=0.6, cloud=0.45, fog=0.1),
    Site("christchurch", -43.5321, 172.6362, "Pacific/Auckland", snow=0.15, cloud=0.4, fog=0.15),
    Site("porto", 41.1579, -8.6291, "Europe/Lisbon", snow=0.0, cloud=0.4, fog=0.2, evergreen=0.4),
    Site("sapporo", 43.0618, 141.3545, "Asia/Tokyo", snow=0.85, cloud=0.5, fog=0.05),
    Site("bariloche", -41.1335, -71.3103, "America/Argentina/Salta", snow=0.5, cloud=0.35),
    Site("seattle", 47.6062, -122.3321, "America/Los_Angeles", snow=0.1, cloud=0.65, fog=0.2),
    Site("tromso", 69.6492, 18.9553, "Europe/Oslo", snow=0.9, cloud=0.55, fog=0.05),
)


def site_by_name(name: str) -> Site:
    """Look a site up by name; raises KeyError with the known names."""
    for site in SITES:
        if site.name == name:
            return site
    raise KeyError(f"unknown site {name!r}; known: {', '.join(s.name for s in SITES)}")
