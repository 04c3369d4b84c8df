"""Light pass of the renderer: sun, sky, weather, seasons and night, then a camera response.

Physically motivated, not physically exact: direct sunlight (NREL SPA sun position for the site
and UTC time) with Lambert's cosine law and cast shadows, a hemispherical sky term, a sky colour
that follows the sun's elevation, fog as distance extinction, foliage and grass that follow the
site's phenology (:mod:`stbench.synth.phenology`), the day's weather
(:mod:`stbench.synth.weather`: rain with wet ground and streaks, snowfall with flakes and haze,
lying snow in world-space noise patches on upward surfaces), and at night lit windows and street
lights. A simple auto-exposure, white balance, filmic tone curve and sensor noise follow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from stbench.synth.phenology import day_phenology
from stbench.synth.raycast import sun_transmittance
from stbench.synth.render import Camera, GBuffer, Surface, leaf_solid, render_geometry
from stbench.synth.sites import Site, to_local
from stbench.synth.textures import hash01, sample, texture_bank
from stbench.synth.town import GROUND, Town
from stbench.synth.weather import Weather, day_weather

__all__ = [
    "SHADOW_STEP_DEG",
    "Weather",
    "day_weather",
    "develop",
    "foliage_colour",
    "leaf_cover",
    "render",
    "sample_weather",
    "shade",
    "snow_field",
    "sun_angles",
]


def sample_weather(date: dt.date, site: Site, rng: np.random.Generator) -> Weather:
    """Weather of a local ``date`` at ``site`` from an independent climate realisation.

    Draws one seed from ``rng`` and returns :func:`stbench.synth.weather.day_weather` of that
    seed: plausible for the site, season and climate, but unrelated to other calls. Sources that
    must agree day to day (cameras at one site, lying snow over days) call ``day_weather`` with
    the world's seed instead.
    """
    if isinstance(date, dt.datetime):
        date = date.date()
    return day_weather(site, date, int(rng.integers(2**31)))


def leaf_cover(date: dt.date, site: Site, seed: int = 0) -> float:
    """Leaf density of deciduous crowns on a local date (0.05 bare .. 1 full).

    Site-, climate- and year-dependent: see :mod:`stbench.synth.phenology`.
    """
    return day_phenology(date, site, seed).leaf


_SPRING_GREEN = np.array([0.30, 0.48, 0.10])
_SUMMER_GREEN = np.array([0.15, 0.30, 0.06])
_AUTUMN_YELLOW = np.array([0.70, 0.52, 0.06])
_AUTUMN_RED = np.array([0.60, 0.14, 0.04])


def foliage_colour(date: dt.date, site: Site, hue: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 3) linear RGB of deciduous leaves: fresh green, summer green, yellow..red in autumn.

    ``hue`` (N,) 0..1 picks each crown's autumn colour (yellow .. red).
    """
    state = day_phenology(date, site, seed)
    autumn = (1 - hue[:, None]) * _AUTUMN_YELLOW + hue[:, None] * _AUTUMN_RED
    green = _SUMMER_GREEN + (_SPRING_GREEN - _SUMMER_GREEN) * state.fresh
    return (1 - state.turn) * green + state.turn * autumn


_GRASS_DORMANT = np.array([1.5, 0.95, 1.2])
_GRASS_DRY = np.array([1.6, 1.2, 0.9])


def _grass_tint(date: dt.date, site: Site, seed: int = 0) -> np.ndarray:
    """(3,) albedo gain of grass: 1 growing, straw-coloured when cold or dried by summer."""
    state = day_phenology(date, site, seed)
    tint = 1.0 + (_GRASS_DORMANT - 1.0) * state.dormant
    return tint * (1 - state.dry) + _GRASS_DRY * state.dry


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
    # Rain clouds are thick and dark; snow clouds a little less so.
    sky_rgb = sky_rgb * (1 - 0.35 * weather.rain - 0.15 * weather.snowfall)
    local = to_local(when, town.site.tz)
    night = float(np.clip((2.0 - elevation) / 8.0, 0, 1))
    return _Light(
        sun,
        elevation,
        azimuth,
        (sun_rgb * direct).astype(np.float32),
        sky_rgb.astype(np.float32),
        night,
        leaf_cover(local.date(), town.site, town.seed),
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


_MIX = np.uint64(0xBF58476D1CE4E5B9)


def _lattice(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, salt: int) -> np.ndarray:
    """Pseudo-random float32 in [0, 1) per integer lattice point (a splitmix-style hash)."""
    with np.errstate(over="ignore"):
        key = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ salt
        h = key.astype(np.uint64) * _MIX
        h ^= h >> np.uint64(29)
        h *= _MIX
        h ^= h >> np.uint64(32)
    return (h >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _value_noise(points: np.ndarray, cell_m: float, salt: int) -> np.ndarray:
    """(N,) smooth 3D value noise in [0, 1) at world points, one lattice cell per ``cell_m``."""
    q = points / cell_m
    base = np.floor(q)
    f = (q - base).astype(np.float32)
    w = f * f * (3 - 2 * f)
    i = base.astype(np.int64)
    out = np.zeros(len(points), dtype=np.float32)
    for dx in (0, 1):
        wx = w[:, 0] if dx else 1 - w[:, 0]
        for dy in (0, 1):
            wy = w[:, 1] if dy else 1 - w[:, 1]
            for dz in (0, 1):
                wz = w[:, 2] if dz else 1 - w[:, 2]
                out += wx * wy * wz * _lattice(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, salt)
    return out


#: Octaves of the snow field: (cell size in m, weight). Drifts of metres, patches, grain.
_SNOW_OCTAVES = ((5.0, 0.5), (1.6, 0.3), (0.45, 0.2))


def snow_field(points: np.ndarray) -> np.ndarray:
    """(N,) procedural world-space noise in (0, 1), roughly uniform, for snow and puddles.

    Value noise at three scales (5 m, 1.6 m, 0.45 m) summed and mapped through a logistic
    approximation of its CDF, so ``field > 1 - a`` holds on about a share ``a`` of surfaces.
    A function of the world point only: every view of a town sees the same patches.
    """
    total = np.zeros(len(points), dtype=np.float32)
    for k, (cell, weight) in enumerate(_SNOW_OCTAVES):
        total += weight * _value_noise(points, cell, 0x5A0 + k)
    # The sum has mean 0.5 and a standard deviation of about 0.13.
    return 1.0 / (1.0 + np.exp(-(total - 0.5) * (1.7 / 0.13)))


def _surface_field(s: Surface) -> np.ndarray:
    if "snow_field" not in s.cache:
        s.cache["snow_field"] = snow_field(s.points)
    return s.cache["snow_field"]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


_SNOW_RGB = np.array([0.86, 0.88, 0.92], dtype=np.float32)


def _snow_cover(s: Surface, rows: np.ndarray, n: np.ndarray, amount: float) -> np.ndarray:
    """(M,) share of snow on ``rows``: noise-shaped patches, full on flat tops, thin on walls.

    A surface gets ``amount * f(n_z)`` of snow, ``f`` 1 on flat ground and roofs, 0.15 on walls,
    0 facing down; where the world-space field exceeds ``1 - that``, with soft edges.
    """
    nz = n[:, 2]
    lie = np.where(nz > -0.2, 0.15 + 0.85 * _smoothstep((nz - 0.2) / 0.6), 0.0)
    local = 1.1 * amount * lie * np.where(s.attrs.material[rows] == GROUND, 1.0, 0.95)
    field = _surface_field(s)[rows]
    cover = np.clip((local - (1 - field)) / 0.1 + 0.5, 0, 1)
    # Walls hold only a dusting (texture shows through).
    return cover * (0.55 + 0.45 * _smoothstep((nz - 0.2) / 0.6))


def _radiance(
    town: Town, s: Surface, rows: np.ndarray, light: _Light, weather: Weather
) -> np.ndarray:
    """(M, 3) linear radiance of ``rows`` of surface ``s`` (before fog)."""
    a = s.attrs
    n = s.normals[rows]
    albedo = a.albedo[rows].copy()
    date = light.local.date()
    site, seed = town.site, town.seed
    crown = a.deciduous[rows]
    if crown.any():
        leaf = foliage_colour(date, site, a.hue[rows][crown], seed)
        lum = albedo[crown].mean(axis=1, keepdims=True)
        bare = a.branch[rows][crown] & (a.leaf_noise[rows][crown] >= light.cover)
        albedo[crown] = np.where(
            bare[:, None], np.array([0.16, 0.12, 0.09]) * lum * 2.5, leaf * lum * 2.2
        )
    grass = a.grass[rows]
    if (grass > 0).any():
        tint = _grass_tint(date, site, seed)
        albedo *= 1 + grass[:, None] * (tint - 1)
    sheen = None
    if weather.wet > 0:
        # Wet ground and roofs: darker, with a glossy reflection of the sky, strong in puddles.
        flat = weather.wet * _smoothstep((n[:, 2] - 0.5) / 0.4)
        puddle = flat * _smoothstep((_surface_field(s)[rows] - 0.8) / 0.1)
        albedo *= (1 - 0.45 * flat - 0.35 * puddle)[:, None]
        sheen = (0.04 * flat + 0.16 * puddle)[:, None] * (light.sky_rgb * 1.3)
    if weather.snow > 0:
        cover = _snow_cover(s, rows, n, weather.snow)[:, None]
        # Drifts and footprints: the snow's own brightness varies a little with the field.
        snow_rgb = _SNOW_RGB * (0.9 + 0.12 * _surface_field(s)[rows])[:, None]
        albedo = (1 - cover) * albedo + cover * snow_rgb
    irradiance = np.broadcast_to(light.sky_rgb * 0.5, (len(rows), 3)) * (1.2 + 0.8 * n[:, 2:3])
    if light.sun_rgb.max() > 1e-4:
        cosine = np.clip(n @ light.sun, 0, None)
        direct = cosine * _shadows(town, s, light)[rows]
        irradiance = irradiance + direct[:, None] * light.sun_rgb
    if light.night > 0 and len(town.lamps):
        lamp_light = _lamp_light(town, s)[rows]
        irradiance = irradiance + light.night * lamp_light[:, None] * _LAMP_RGB
    radiance = (albedo * irradiance).astype(np.float32)
    if sheen is not None:
        radiance += sheen.astype(np.float32)
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
    grey = grey * (1 - 0.4 * weather.rain - 0.1 * weather.snowfall)
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
        weather: clouds, fog, rain, snowfall, wet ground and lying snow of the moment.
        rng: randomness of this frame (cloud pattern, rain streaks, snowflakes, sensor noise).
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
    # Falling rain and snow thicken the air (visibility a few km in heavy rain, < 1 km in snow).
    beta = weather.fog + 0.0012 + 0.0015 * weather.rain + 0.004 * weather.snowfall
    hazy = weather.fog > 0 or weather.rain > 0 or weather.snowfall > 0
    fog_rgb = light.sky_rgb * 0.9 + 0.02 * light.sun_rgb
    if hazy:
        fog_rgb = np.maximum(fog_rgb, 0.6 * light.sky_rgb.mean())
    fog_rgb = fog_rgb.astype(np.float32)
    # Sky pixels only fade into fog when there is fog (clear-air haze is in the sky colour).
    far = np.where(np.isfinite(distance), distance, 1e4 if hazy else 0.0)
    transmit = np.exp(np.float32(-beta) * far)[:, None]
    # transmit * image + (1 - transmit) * fog_rgb, in place.
    image -= fog_rgb
    image *= transmit
    image += fog_rgb
    image = image.reshape(h, w, 3)
    if weather.rain > 0:
        _rain_streaks(image, weather.rain, fog_rgb, rng)
    if weather.snowfall > 0:
        _snowflakes(image, weather.snowfall, fog_rgb, rng)
    return develop(image, rng, exposure_ev, white_balance, noise)


def _rain_streaks(
    image: np.ndarray, intensity: float, tone: np.ndarray, rng: np.random.Generator
) -> None:
    """Blend faint, slanted, motion-blurred rain streaks into (H, W, 3) radiance, in place.

    ``0.004 * intensity`` streaks per pixel, 4..8 % of the height long, one wind slant per frame.
    """
    h, w = image.shape[:2]
    count = int(0.004 * intensity * h * w)
    if count == 0:
        return
    length = max(3, int(rng.uniform(0.04, 0.08) * h))
    slant = rng.normal(0.0, 0.15)
    x0 = rng.uniform(-slant * length, w, count)
    y0 = rng.uniform(-length, h, count)
    step = np.arange(length)
    xs = np.rint(x0[:, None] + slant * step).astype(np.int64).ravel()
    ys = np.rint(y0[:, None] + step).astype(np.int64).ravel()
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    alpha = np.float32(0.18 + 0.12 * intensity)
    pixels = image[ys[inside], xs[inside]]
    image[ys[inside], xs[inside]] = (1 - alpha) * pixels + alpha * 1.4 * tone


def _snowflakes(
    image: np.ndarray, intensity: float, tone: np.ndarray, rng: np.random.Generator
) -> None:
    """Scatter falling snowflakes (1 px far, 2x2 px near) over (H, W, 3) radiance, in place.

    ``0.006 * intensity`` flakes per pixel, a third of them near (larger) ones.
    """
    h, w = image.shape[:2]
    count = int(0.006 * intensity * h * w)
    if count == 0:
        return
    xs = rng.integers(0, w, count)
    ys = rng.integers(0, h, count)
    near = rng.random(count) < 0.33
    xs = np.concatenate(
        [xs, np.minimum(xs[near] + 1, w - 1), xs[near], np.minimum(xs[near] + 1, w - 1)]
    )
    ys = np.concatenate(
        [ys, ys[near], np.minimum(ys[near] + 1, h - 1), np.minimum(ys[near] + 1, h - 1)]
    )
    alpha = np.float32(0.75)
    flake = np.maximum(1.6 * tone, tone.mean() * 1.8).astype(np.float32)
    image[ys, xs] = (1 - alpha) * image[ys, xs] + alpha * flake


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
    # Filmic curve 1.4 x / (1 + x) then gamma 1/2.2, through a 4096-entry table (in place).
    np.maximum(x, 0.0, out=x)
    code = x + np.float32(1.0)
    np.divide(x, code, out=code)
    code *= np.float32(1.4 * 4095.0)
    np.minimum(code, np.float32(4095.0), out=code)
    y = _TONE_LUT[code.astype(np.int32)]
    if noise > 0:
        sigma = noise * (0.006 + 0.0015 * np.sqrt(gain))
        grain = rng.standard_normal(size=y.shape, dtype=np.float32)
        grain *= np.float32(sigma)
        y += grain
    y *= np.float32(255.0)
    y += np.float32(0.5)
    np.clip(y, 0, 255, out=y)
    return y.astype(np.uint8)


_TONE_LUT = np.power(np.arange(4096, dtype=np.float32) / 4095.0, 1 / 2.2).astype(np.float32)


def render(
    town: Town, camera: Camera, time_utc, weather: Weather, rng: np.random.Generator, **develop_args
) -> tuple[np.ndarray, np.ndarray]:
    """Render one photo with the exact geometry of its date (leaf holes resolved).

    Returns:
        rgb (H, W, 3) uint8 and depth (H, W) float32 z-depth (0 for sky).
    """
    when = _utc(time_utc)
    cover = leaf_cover(town.site.local_date(when), town.site, town.seed)
    gbuffer = render_geometry(town, camera, leaf_cover=cover)
    return shade(town, gbuffer, when, weather, rng, **develop_args), gbuffer.depth
