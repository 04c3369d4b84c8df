"""Places of the synthetic world: real coordinates and IANA zones, a climate for the weather."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "CLIMATES",
    "SITES",
    "SPLITS",
    "Site",
    "season_phase",
    "site_by_name",
    "sites_in_split",
    "to_local",
]


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
        climate: ``mild`` (no snow, little seasonal foliage change), ``temperate`` or ``snowy``.
        altitude_m: height above sea level in metres (phenology runs later with altitude).
        split: the split every source at this site belongs to (``train``, ``val``, ``test``):
            splits are leave-site-out, so no test site, town layout or material is seen in train.
        summer_dry: how dry summers are, 0 (rain all year) .. 1 (Mediterranean: almost no summer
            rain, grass dries brown); see :mod:`stbench.synth.phenology` and
            :mod:`stbench.synth.weather`.
    """

    name: str
    lat: float
    lon: float
    tz: str
    snow: float = 0.3
    cloud: float = 0.4
    fog: float = 0.1
    evergreen: float = 0.2
    climate: str = "temperate"
    altitude_m: float = 0.0
    split: str = "train"
    summer_dry: float = 0.0

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


#: Towns of the world: 18 sites on both hemispheres and three climates, each in one split.
#: Test: 6 sites (3 north, 3 south; all three climates); val: 2; train: 10.
SITES: tuple[Site, ...] = (
    # train
    Site("innsbruck", 47.2692, 11.4041, "Europe/Vienna", snow=0.7, cloud=0.45, fog=0.15,
         climate="snowy", altitude_m=574),
    Site("madison", 43.0731, -89.4012, "America/Chicago", snow=0.6, cloud=0.45, fog=0.1,
         climate="snowy", altitude_m=264),
    Site("sapporo", 43.0618, 141.3545, "Asia/Tokyo", snow=0.85, cloud=0.5, fog=0.05,
         climate="snowy", altitude_m=29),
    Site("seattle", 47.6062, -122.3321, "America/Los_Angeles", snow=0.1, cloud=0.65, fog=0.2,
         evergreen=0.5, altitude_m=53),
    Site("lyon", 45.7640, 4.8357, "Europe/Paris", snow=0.15, cloud=0.45, fog=0.2, altitude_m=173),
    Site("kyoto", 35.0116, 135.7681, "Asia/Tokyo", snow=0.1, cloud=0.45, fog=0.1, altitude_m=50),
    Site("porto", 41.1579, -8.6291, "Europe/Lisbon", snow=0.0, cloud=0.4, fog=0.2, evergreen=0.4,
         climate="mild", altitude_m=104, summer_dry=0.6),
    Site("singapore", 1.3521, 103.8198, "Asia/Singapore", snow=0.0, cloud=0.55, fog=0.05,
         evergreen=0.95, climate="mild", altitude_m=15),
    Site("hobart", -42.8821, 147.3272, "Australia/Hobart", snow=0.05, cloud=0.5, fog=0.1,
         evergreen=0.5, altitude_m=20),
    Site("cape_town", -33.9249, 18.4241, "Africa/Johannesburg", snow=0.0, cloud=0.3, fog=0.15,
         evergreen=0.7, climate="mild", altitude_m=25, summer_dry=0.8),
    # val
    Site("bariloche", -41.1335, -71.3103, "America/Argentina/Salta", snow=0.5, cloud=0.35,
         climate="snowy", altitude_m=893, split="val"),
    Site("valencia", 39.4699, -0.3763, "Europe/Madrid", snow=0.0, cloud=0.3, fog=0.1,
         evergreen=0.6, climate="mild", altitude_m=15, split="val", summer_dry=0.8),
    # test
    Site("christchurch", -43.5321, 172.6362, "Pacific/Auckland", snow=0.15, cloud=0.4, fog=0.15,
         altitude_m=20, split="test"),
    Site("tromso", 69.6492, 18.9553, "Europe/Oslo", snow=0.9, cloud=0.55, fog=0.05,
         evergreen=0.5, climate="snowy", altitude_m=10, split="test"),
    Site("denver", 39.7392, -104.9903, "America/Denver", snow=0.45, cloud=0.3, fog=0.05,
         climate="snowy", altitude_m=1609, split="test"),
    Site("quebec", 46.8139, -71.2080, "America/Toronto", snow=0.85, cloud=0.5, fog=0.1,
         evergreen=0.4, climate="snowy", altitude_m=98, split="test"),
    Site("santiago", -33.4489, -70.6693, "America/Santiago", snow=0.0, cloud=0.25, fog=0.1,
         evergreen=0.5, climate="mild", altitude_m=570, split="test", summer_dry=0.9),
    Site("brisbane", -27.4698, 153.0251, "Australia/Brisbane", snow=0.0, cloud=0.35, fog=0.1,
         evergreen=0.85, climate="mild", altitude_m=27, split="test"),
)  # fmt: skip
CLIMATES = ("mild", "temperate", "snowy")
SPLITS = ("train", "val", "test")


def sites_in_split(split: str) -> tuple[Site, ...]:
    """The sites whose sources all belong to ``split`` (``train``, ``val`` or ``test``)."""
    if split not in SPLITS:
        raise KeyError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return tuple(site for site in SITES if site.split == split)


def site_by_name(name: str) -> Site:
    """Look a site up by name; raises KeyError with the known names."""
    for site in SITES:
        if site.name == name:
            return site
    raise KeyError(f"unknown site {name!r}; known: {', '.join(s.name for s in SITES)}")
