"""Light pass of the renderer: sun, sky, weather, seasons and night, then a camera response.

Physically motivated, not physically exact: direct sunlight (NREL SPA sun position for the site
and UTC time) with Lambert's cosine law and cast shadows, a hemispherical sky term, a sky colour
that follows the sun's elevation, fog as distance extinction, foliage that colours and falls by
the local date (hemisphere-aware), snow on upward surfaces, and at night lit windows and street
lights. A simple auto-exposure, white balance, filmic tone curve and sensor noise follow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from stbench.synth.raycast import sun_transmittance
from stbench.synth.render import Camera, GBuffer, Surface, leaf_solid, render_geometry
from stbench.synth.sites import Site, season_phase, to_local
from stbench.synth.textures import hash01, sample, texture_bank
from stbench.synth.town import GROUND, Town

__all__ = [
    "SHADOW_STEP_DEG",
    "Weather",
    "develop",
    "foliage_colour",
    "leaf_cover",
    "render",
    "sample_weather",
    "shade",
    "sun_angles",
]


@dataclass(frozen=True)
class Weather:
    """Weather of one moment.

    Attributes:
        cloud_cover: 0 (clear) .. 1 (overcast); >= 0.85 means no direct sun (no shadows).
        fog: extinction coefficient in 1/m (0 = clear air; 0.01 ~ 300 m visibility).
        snow: 0..1 snow cover on upward-facing surfaces.
    """

    cloud_cover: float = 0.2
    fog: float = 0.0
    snow: float = 0.0

    @property
    def overcast(self) -> bool:
        return self.cloud_cover >= 0.85


def _winterness(date: dt.date, site: Site) -> float:
    """1 at mid-winter, -1 at mid-summer (lagging the solstice by ~3 weeks)."""
    phase = season_phase(date, site.southern)
    return float(np.cos(2 * np.pi * (phase - 0.05)))


def sample_weather(date: dt.date, site: Site, rng: np.random.Generator) -> Weather:
    """Draw the weather of a local ``date`` at ``site`` from its climate.

    Snow only in the cold half of the year (likelier mid-winter at snowy sites), overcast days
    at the site's rate (more in winter), fog mostly in the cold months.
    """
    if isinstance(date, dt.datetime):
        date = date.date()
    winter = _winterness(date, site)
    cold = max(winter, 0.0)
    snow = 0.0
    if rng.random() < site.snow * cold**0.7:
        snow = float(rng.uniform(0.45, 1.0))
    if rng.random() < min(site.cloud * (1 + 0.35 * winter), 0.95):
        cloud = float(rng.uniform(0.85, 1.0))
    else:
        cloud = float(rng.uniform(0.0, 0.6) ** 1.5)
    fog = 0.0
    if rng.random() < 0.6 * site.fog * (1 + 0.6 * winter):
        fog = float(rng.uniform(0.003, 0.02))
    return Weather(cloud_cover=cloud, fog=fog, snow=snow)


def leaf_cover(date: dt.date, site: Site) -> float:
    """Leaf density of deciduous crowns on a local date (0.05 bare .. 1 full)."""
    phase = season_phase(date, site.southern)
    return float(np.interp(phase, [0, 0.29, 0.37, 0.77, 0.87, 1.0], [0.05, 0.05, 1, 1, 0.05, 0.05]))


def foliage_colour(date: dt.date, site: Site, hue: np.ndarray) -> np.ndarray:
    """(N, 3) linear RGB of deciduous leaves: fresh green, summer green, yellow..red in autumn."""
    phase = season_phase(date, site.southern)
    spring = np.array([0.30, 0.48, 0.10])
    summer = np.array([0.15, 0.30, 0.06])
    autumn = (1 - hue[:, None]) * np.array([0.70, 0.52, 0.06]) + hue[:, None] * np.array(
        [0.60, 0.14, 0.04]
    )
    green = spring + (summer - spring) * np.clip((phase - 0.33) / 0.1, 0, 1)
    turn = np.clip((phase - 0.70) / 0.1, 0, 1)
    return (1 - turn) * green + turn * autumn


def _grass_tint(date: dt.date, site: Site) -> np.ndarray:
    phase = season_phase(date, site.southern)
    winter = 0.5 + 0.5 * np.cos(2 * np.pi * (phase - 0.05))
    dry = np.clip((phase - 0.55) / 0.15, 0, 1) * np.clip((0.85 - phase) / 0.1, 0, 1)
    tint = np.array([1.0, 1.0, 1.0]) * (1 - winter) + np.array([1.5, 0.95, 1.2]) * winter
    return tint * (1 - dry) + np.array([1.6, 1.2, 0.9]) * dry


@dataclass(frozen=True)
class _Light:
    sun: np.ndarray  # (3,) towards the sun
    elevation: float
    azimuth: float
    sun_rgb: np.ndarray  # direct irradiance on a surface facing the sun
    sky_rgb: np.ndarray  # hemispherical sky irradiance
    night: float  # 0 day .. 1 night
    cover: float
    local: dt.datetime


def _utc(time_utc) -> dt.datetime:
    when = time_utc if isinstance(time_utc, dt.datetime) else time_utc.to_pydatetime()
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def sun_angles(site: Site, times_utc) -> np.ndarray:
    """(N, 2) sun elevation and azimuth (degrees) at ``site`` for many UTC times (NREL SPA)."""
    from stbench.solar import sun_position

    elevation, azimuth = sun_position([_utc(t) for t in times_utc], site.lat, site.lon)
    return np.stack([elevation, azimuth], axis=1)


def _light(
    town: Town, time_utc, weather: Weather, sun: tuple[float, float] | None = None
) -> _Light:
    from stbench.solar import sun_direction

    when = _utc(time_utc)
    if sun is None:
        sun = tuple(sun_angles(town.site, [when])[0])
    elevation, azimuth = float(sun[0]), float(sun[1])
    sun = sun_direction(np.array([elevation]), np.array([azimuth]))[0]
    day = float(np.clip((elevation + 1.0) / 9.0, 0, 1)) ** 1.5
    warm = float(np.clip(elevation / 25.0, 0, 1))
    sun_rgb = 3.2 * day * np.array([1.0, 0.78 + 0.2 * warm, 0.55 + 0.42 * warm])
    twilight = float(np.clip((elevation + 12.0) / 18.0, 0, 1)) ** 2
    sky_rgb = (0.004 + 0.6 * twilight) * np.array([0.72, 0.84, 1.0])
    direct = 1.0 - 0.5 * weather.cloud_cover if not weather.overcast else 0.0
    sky_rgb = sky_rgb * (1 + 0.6 * weather.cloud_cover) + (1 - direct) * 0.25 * sun_rgb * np.array(
        [0.9, 0.95, 1.0]
    ) * (1.0 if weather.overcast else 0.5)
    local = to_local(when, town.site.tz)
    night = float(np.clip((2.0 - elevation) / 8.0, 0, 1))
    return _Light(
        sun,
        elevation,
        azimuth,
        (sun_rgb * direct).astype(np.float32),
        sky_rgb.astype(np.float32),
        night,
        leaf_cover(local.date(), town.site),
        local,
    )


_LAMP_RGB = np.array([1.0, 0.72, 0.4], dtype=np.float32)


def _lamp_light(town: Town, s: Surface) -> np.ndarray:
    """(N,) street-light irradiance of every sample of ``s`` (static: computed once, cached)."""
    if "lamp_light" not in s.cache:
        lamp_light = np.zeros(len(s.index), dtype=np.float32)
        for lamp in town.lamps:
            v = lamp - s.points
            d2 = (v * v).sum(axis=1)
            near = np.nonzero(d2 < 40.0**2)[0]
            facing = np.clip(
                (s.normals[near] * v[near]).sum(axis=1) / np.sqrt(d2[near] + 1e-9), 0.1, 1
            )
            lamp_light[near] += 3.0 * facing / (1.0 + d2[near] / 3.0)
        s.cache["lamp_light"] = lamp_light
    return s.cache["lamp_light"]


SHADOW_STEP_DEG = 0.25
_SHADOW_CACHE_SIZE = 128


def _shadows(town: Town, s: Surface, light: _Light) -> np.ndarray:
    """(N,) sun transmittance of every sample of ``s``.

    Shadows are cast towards the sun direction rounded to a 0.25 deg grid of elevation and
    azimuth (a shadow edge 10 m from its caster moves < 3 cm), which lets a fixed camera reuse
    them across frames: they are cached on the surface. Results do not depend on the cache.
    """
    from stbench.solar import sun_direction

    key = (
        round(light.elevation / SHADOW_STEP_DEG),
        round(light.azimuth / SHADOW_STEP_DEG),
        round(light.cover, 3),
    )
    cache = s.cache.setdefault("shadows", {})
    if key not in cache:
        sun = sun_direction(
            np.array([key[0] * SHADOW_STEP_DEG]), np.array([key[1] * SHADOW_STEP_DEG])
        )[0]
        out = np.zeros(len(s.index), dtype=np.float32)
        lit = np.nonzero(s.normals @ sun > 0)[0]
        out[lit] = sun_transmittance(town, s.points[lit] + 0.02 * s.normals[lit], sun, light.cover)
        if len(cache) >= _SHADOW_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = out
    return cache[key]


def _radiance(
    town: Town, s: Surface, rows: np.ndarray, light: _Light, weather: Weather
) -> np.ndarray:
    """(M, 3) linear radiance of ``rows`` of surface ``s`` (before fog)."""
    a = s.attrs
    n = s.normals[rows]
    albedo = a.albedo[rows].copy()
    date = light.local.date()
    crown = a.deciduous[rows]
    if crown.any():
        leaf = foliage_colour(date, town.site, a.hue[rows][crown])
        lum = albedo[crown].mean(axis=1, keepdims=True)
        bare = a.branch[rows][crown] & (a.leaf_noise[rows][crown] >= light.cover)
        albedo[crown] = np.where(
            bare[:, None], np.array([0.16, 0.12, 0.09]) * lum * 2.5, leaf * lum * 2.2
        )
    grass = a.grass[rows]
    if (grass > 0).any():
        tint = _grass_tint(date, town.site)
        albedo *= 1 + grass[:, None] * (tint - 1)
    if weather.snow > 0:
        up = np.clip((n[:, 2] - 0.3) / 0.45, 0, 1)
        amount = weather.snow * up * np.where(a.material[rows] == GROUND, 0.85, 1.0)
        cover = np.clip((amount - a.snow_noise[rows]) * 10 + 0.5 * amount, 0, 1)[:, None]
        lum = albedo.mean(axis=1, keepdims=True)
        snow_albedo = np.array([0.86, 0.88, 0.92]) * (0.85 + 0.6 * (lum - 0.25))
        albedo = (1 - cover) * albedo + cover * np.clip(snow_albedo, 0, 1)
    irradiance = np.broadcast_to(light.sky_rgb * 0.5, (len(rows), 3)) * (1.2 + 0.8 * n[:, 2:3])
    if light.sun_rgb.max() > 1e-4:
        cosine = np.clip(n @ light.sun, 0, None)
        direct = cosine * _shadows(town, s, light)[rows]
        irradiance = irradiance + direct[:, None] * light.sun_rgb
    if light.night > 0 and len(town.lamps):
        lamp_light = _lamp_light(town, s)[rows]
        irradiance = irradiance + light.night * lamp_light[:, None] * _LAMP_RGB
    radiance = (albedo * irradiance).astype(np.float32)
    window = a.window[rows]
    if light.night > 0 and (window >= 0).any():
        hour = light.local.hour + light.local.minute / 60
        share = float(
            np.interp(
                hour, [0, 5, 6.5, 9, 16, 18, 22, 24], [0.2, 0.1, 0.4, 0.15, 0.2, 0.6, 0.45, 0.2]
            )
        )
        day_key = light.local.toordinal()
        is_win = np.nonzero(window >= 0)[0]
        on = hash01((window[is_win] * 1e6).astype(np.int64), day_key) < share
        glow = np.array([1.0, 0.78, 0.45]) * (0.6 + 0.6 * window[is_win, None])
        radiance[is_win] += light.night * on[:, None] * glow
    return radiance


def _sky(rays: np.ndarray, light: _Light, weather: Weather, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) sky radiance along unit rays (N, 3)."""
    up = np.clip(rays[:, 2], -0.05, 1)
    height = np.clip(up, 0, 1)[:, None]
    day = float(np.clip((light.elevation + 4) / 14, 0, 1))
    zenith = day * np.array([0.10, 0.22, 0.62]) + (1 - day) * np.array([0.02, 0.03, 0.08])
    horizon = day * np.array([0.55, 0.65, 0.85]) + (1 - day) * np.array([0.08, 0.07, 0.10])
    toward = np.clip(rays @ light.sun, -1, 1)
    dusk = float(np.clip(1 - abs(light.elevation - 1) / 8, 0, 1))
    horizon = horizon + dusk * np.clip(0.5 + 0.5 * toward, 0, 1)[:, None] * np.array(
        [0.9, 0.35, 0.08]
    )
    sky = horizon + (zenith - horizon) * (1 - (1 - height) ** 3)
    level = 0.02 + 1.3 * float(np.clip((light.elevation + 12) / 20, 0, 1)) ** 2
    sky = sky * level
    if light.elevation > -2:
        sky = sky + light.sun_rgb * 0.4 * np.clip(toward, 0, 1)[:, None] ** 200
    cover = weather.cloud_cover
    grey = level * 0.75 * np.array([0.95, 0.97, 1.0])
    if weather.overcast:
        sky = 0.15 * sky + 0.85 * grey * (0.8 + 0.2 * height)
    elif cover > 0.02:
        offset = rng.uniform(0, 4096, 2)
        scale = 90.0 / (up + 0.12)
        u = rays[:, 0] * scale + offset[0]
        v = rays[:, 1] * scale + offset[1]
        noise = sample(texture_bank()["noise0"], u, v, np.full(len(u), 2.0))[:, 0]
        cloud = np.clip((noise - (1 - cover)) * 4, 0, 1)[:, None] * 0.9
        sky = (1 - cloud) * sky + cloud * grey * 1.2
    return sky.astype(np.float32)


def shade(
    town: Town,
    gbuffer: GBuffer,
    time_utc,
    weather: Weather,
    rng: np.random.Generator,
    *,
    sun: tuple[float, float] | None = None,
    exposure_ev: float = 0.0,
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0),
    noise: float = 1.0,
) -> np.ndarray:
    """Light a view at a moment and develop it like a camera.

    Args:
        town: the scene the gbuffer was rendered from.
        gbuffer: from :func:`render_geometry`.
        time_utc: tz-aware datetime (or naive meaning UTC) or pandas Timestamp.
        weather: clouds, fog and snow of the moment.
        rng: randomness of this frame (cloud pattern, sensor noise).
        sun: precomputed (elevation, azimuth) in degrees for this time and site (see
            :func:`sun_angles`, which does many times at once); computed when None.
        exposure_ev: exposure offset from the auto-exposure, in stops.
        white_balance: per-channel gains (R, G, B) of the camera.
        noise: sensor-noise multiplier (0 = none).
    Returns:
        (H, W, 3) uint8 RGB.
    """
    light = _light(town, time_utc, weather, sun)
    h, w = gbuffer.shape
    front = gbuffer.front
    image = np.empty((h * w, 3), dtype=np.float32)
    distance = np.full(h * w, np.inf, dtype=np.float32)
    covered = np.zeros(h * w, dtype=bool)
    solid = leaf_solid(front.attrs, light.cover)
    rows = np.nonzero(solid)[0]
    image[front.index[rows]] = _radiance(town, front, rows, light, weather)
    distance[front.index[rows]] = front.distance[rows]
    covered[front.index[rows]] = True
    if gbuffer.back_of.size:
        brows = np.nonzero(~solid[gbuffer.back_of])[0]
        if len(brows):
            back = gbuffer.back
            image[back.index[brows]] = _radiance(town, back, brows, light, weather)
            distance[back.index[brows]] = back.distance[brows]
            covered[back.index[brows]] = True
    sky = np.nonzero(~covered)[0]
    image[sky] = _sky(gbuffer.rays[sky], light, weather, rng)
    beta = weather.fog + 0.0012
    fog_rgb = light.sky_rgb * 0.9 + 0.02 * light.sun_rgb
    if weather.fog > 0:
        fog_rgb = np.maximum(fog_rgb, 0.6 * light.sky_rgb.mean())
    fog_rgb = fog_rgb.astype(np.float32)
    # Sky pixels only fade into fog when there is fog (clear-air haze is in the sky colour).
    far = np.where(np.isfinite(distance), distance, 1e4 if weather.fog > 0 else 0.0)
    transmit = np.exp(-beta * far)[:, None]
    image = transmit * image + (1 - transmit) * fog_rgb
    return develop(image.reshape(h, w, 3), rng, exposure_ev, white_balance, noise)


def develop(
    radiance: np.ndarray,
    rng: np.random.Generator,
    exposure_ev: float = 0.0,
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0),
    noise: float = 1.0,
) -> np.ndarray:
    """Camera response: partial auto-exposure, white balance, filmic curve, noise, 8 bits.

    Args:
        radiance: (H, W, 3) linear radiance.
    Returns:
        (H, W, 3) uint8.
    """
    lum = radiance[::2, ::2].mean(axis=2)
    key = float(np.exp(np.mean(np.log(lum + 1e-4))))
    gain = float(np.clip((0.2 / key) ** 0.6, 0.05, 8.0)) * 2.0**exposure_ev
    x = radiance * (gain * np.asarray(white_balance, dtype=np.float32))
    # Filmic curve 1.4 x / (1 + x) then gamma 1/2.2, through a 4096-entry table.
    code = np.minimum(1.4 * x / (1.0 + x), 1.0) * 4095.0
    y = _TONE_LUT[code.astype(np.int32)]
    if noise > 0:
        sigma = noise * (0.006 + 0.0015 * np.sqrt(gain))
        y = y + sigma * rng.standard_normal(size=y.shape, dtype=np.float32)
    return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)


_TONE_LUT = np.power(np.arange(4096, dtype=np.float32) / 4095.0, 1 / 2.2).astype(np.float32)


def render(
    town: Town, camera: Camera, time_utc, weather: Weather, rng: np.random.Generator, **develop_args
) -> tuple[np.ndarray, np.ndarray]:
    """Render one photo with the exact geometry of its date (leaf holes resolved).

    Returns:
        rgb (H, W, 3) uint8 and depth (H, W) float32 z-depth (0 for sky).
    """
    when = _utc(time_utc)
    cover = leaf_cover(town.site.local_date(when), town.site)
    gbuffer = render_geometry(town, camera, leaf_cover=cover)
    return shade(town, gbuffer, when, weather, rng, **develop_args), gbuffer.depth
