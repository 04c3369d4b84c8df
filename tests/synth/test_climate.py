"""Climate: site phenology, simulated daily weather with a snowpack, and how weather looks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from stbench.synth.phenology import (
    climate_temperature,
    day_phenology,
    season_shift_days,
    temperature_mean,
)
from stbench.synth.shade import Weather, leaf_cover, shade, snow_field
from stbench.synth.sites import SITES, site_by_name
from stbench.synth.weather import WEATHER_KINDS, day_weather, photo_odds, year_weather


def _days(year: int, months: tuple[int, ...] | None = None) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(365)]
    return [d for d in days if months is None or d.month in months]


def _leaf_range(name: str, year: int = 2019) -> float:
    site = site_by_name(name)
    leaves = [leaf_cover(d, site) for d in _days(year)]
    return max(leaves) - min(leaves)


def _leaf_out(site, year: int, seed: int = 0) -> int:
    """Day of the year deciduous crowns first reach half cover (spring, northern site)."""
    days = _days(year, (2, 3, 4, 5, 6))
    first = next(d for d in days if leaf_cover(d, site, seed) >= 0.5)
    return first.timetuple().tm_yday


def test_foliage_changes_little_at_mild_sites_and_fully_at_snowy_ones():
    assert _leaf_range("singapore") == pytest.approx(0.0, abs=1e-9)
    for mild in ("porto", "valencia", "brisbane", "cape_town", "santiago"):
        assert _leaf_range(mild) < 0.3, mild
    for cold in ("innsbruck", "quebec", "tromso", "denver", "bariloche", "seattle"):
        assert _leaf_range(cold) > 0.9, cold
    colour = {
        name: max(day_phenology(d, site_by_name(name)).turn for d in _days(2019))
        for name in ("porto", "innsbruck")
    }
    assert colour["porto"] < 0.35 < 0.9 < colour["innsbruck"]


def test_altitude_and_latitude_cool_the_site_and_delay_spring():
    innsbruck = site_by_name("innsbruck")
    high = dataclasses.replace(innsbruck, altitude_m=innsbruck.altitude_m + 1500)
    north = dataclasses.replace(innsbruck, lat=innsbruck.lat + 12)
    assert temperature_mean(high) == pytest.approx(temperature_mean(innsbruck) - 6.0)
    assert temperature_mean(north) < temperature_mean(innsbruck)
    base = _leaf_out(innsbruck, 2019)
    assert _leaf_out(high, 2019) > base + 10
    assert _leaf_out(north, 2019) > base + 10


def test_southern_seasons_are_half_a_year_apart():
    for site in SITES:
        days = _days(2019)
        coldest = min(days, key=lambda d: climate_temperature(d, site))
        expected = dt.date(2019, 7, 19) if site.southern else dt.date(2019, 1, 19)
        assert abs((coldest - expected).days) <= 20, site.name
    south = site_by_name("christchurch")
    assert leaf_cover(dt.date(2019, 1, 15), south) == 1.0
    assert leaf_cover(dt.date(2019, 7, 15), south) < 0.1
    north = site_by_name("innsbruck")
    assert leaf_cover(dt.date(2019, 7, 15), north) == 1.0
    assert leaf_cover(dt.date(2019, 1, 15), north) < 0.1


def test_spring_comes_early_or_late_from_year_to_year():
    site = site_by_name("innsbruck")
    onsets = [_leaf_out(site, year) for year in range(2010, 2022)]
    assert max(onsets) - min(onsets) >= 7
    assert max(onsets) - min(onsets) <= 2 * 14 + 2
    # The shift is bounded, deterministic, and belongs to the seed.
    shifts = [season_shift_days(d, site, 3) for d in _days(2016)[::7]]
    assert max(abs(s) for s in shifts) <= 14
    assert shifts == [season_shift_days(d, site, 3) for d in _days(2016)[::7]]
    assert [_leaf_out(site, y, seed=1) for y in range(2010, 2022)] != onsets


def test_mild_sites_never_see_snow():
    for site in (s for s in SITES if s.climate == "mild"):
        for year in (2015, 2016, 2017):
            table = year_weather(site, year)
            assert table["snow"].max() == 0 and table["snowfall"].max() == 0, site.name


def test_snow_lies_on_some_winter_days_not_all_and_follows_snowfall():
    for name in ("innsbruck", "denver", "madison"):
        site = site_by_name(name)
        shares = []
        for year in (2015, 2016, 2017, 2018):
            table = year_weather(site, year)
            winter = np.array([d.month in (12, 1, 2) for d in _days(year)])
            summer = np.array([d.month in (7, 8) for d in _days(year)])
            shares.append(float(np.mean(table["snow"][:365][winter] > 0)))
            assert table["snow"][:365][summer].max() == 0
            # Lying snow persists after the snowfall day, and only comes from snowfall.
            lying = table["snow"] > 0
            fell = table["snowfall"] > 0
            assert (lying & ~fell).sum() > fell.sum()
            for d in np.nonzero(lying)[0]:
                start = d
                while start > 0 and lying[start - 1]:
                    start -= 1
                assert fell[start : d + 1].any() or start == 0
        # Pooled over four winters: snow on some days, not all (a single cold winter may be white
        # throughout, as real ones are).
        assert 0.1 < np.mean(shares) < 0.95, (name, shares)


def test_weather_is_deterministic_and_does_not_depend_on_the_order_of_queries():
    site = site_by_name("quebec")
    days = _days(2018)[::5]
    first = [day_weather(site, d, 7) for d in days]
    year_weather.cache_clear()
    year_weather(site, 2019, 7)  # a later year first: no hidden state
    assert [day_weather(site, d, 7) for d in reversed(days)] == first[::-1]
    assert [day_weather(site, d, 8) for d in days] != first


def test_every_weather_kind_occurs_over_a_year_at_a_snowy_site():
    site = site_by_name("innsbruck")
    kinds = [day_weather(site, d).kind for d in _days(2019)]
    counts = {kind: kinds.count(kind) for kind in WEATHER_KINDS}
    assert all(count >= 3 for count in counts.values()), counts
    assert counts["clear"] > counts["snowfall"]
    wet_summer = [day_weather(site, d) for d in _days(2019, (7,))]
    assert not any(w.kind == "snowfall" for w in wet_summer)


def test_weather_kind_and_photo_odds():
    assert Weather(0.3).kind == "clear" and Weather(0.9).kind == "overcast"
    assert Weather(0.3, fog=0.01).kind == "fog"
    assert Weather(0.95, rain=0.5, wet=1).kind == "rain"
    assert Weather(0.95, snowfall=0.5, fog=0.01).kind == "snowfall"
    assert photo_odds(Weather(0.1)) == 1.0 > photo_odds(Weather(0.95, rain=0.5))


def test_unknown_climate_is_a_clear_error():
    broken = dataclasses.replace(site_by_name("porto"), climate="arctic")
    with pytest.raises(ValueError, match="unknown climate 'arctic'"):
        day_phenology(dt.date(2019, 1, 1), broken)


def test_snow_field_is_world_space_noise_without_a_repeat():
    rng = np.random.default_rng(0)
    points = rng.uniform(-200, 200, (4000, 3))
    field = snow_field(points)
    assert 0.35 < field.mean() < 0.65 and field.std() > 0.15
    # A function of the point only (two views of one point agree), not of the batch.
    assert np.array_equal(snow_field(points[::-1])[::-1], field)
    # No tiling: the old snow texture repeated every 7 m.
    for period in (7.0, 14.0, 64.0):
        shifted = snow_field(points + np.array([period, 0.0, 0.0]))
        assert abs(np.corrcoef(field, shifted)[0, 1]) < 0.3


@pytest.fixture(scope="module")
def scene():
    from stbench.synth.render import Camera, look_at, render_geometry
    from stbench.synth.town import build_town

    town = build_town(site_by_name("innsbruck"), 0)
    R, t = look_at([25.0, -22.0, 6.0], [0.0, 0.0, 4.0])
    K = np.array([[90.0, 0, 63.5], [0, 90.0, 47.5], [0, 0, 1]])
    return town, render_geometry(town, Camera(128, 96, K, R, t))


def _look(scene, weather: Weather, noise: float = 0.0) -> np.ndarray:
    town, gbuffer = scene
    noon = dt.datetime(2019, 2, 10, 11, 0, tzinfo=dt.timezone.utc)
    return shade(town, gbuffer, noon, weather, np.random.default_rng(1), noise=noise).astype(float)


def test_partial_snow_lies_in_patches_on_the_ground_and_thinly_on_walls(scene):
    from stbench.synth.town import GROUND, WALL

    _, gbuffer = scene
    bare = _look(scene, Weather(0.9))
    snowy = _look(scene, Weather(0.9, snow=0.5))
    whiter = (snowy - bare).mean(axis=2) > 25
    ground = gbuffer.material == GROUND
    wall = (gbuffer.material == WALL) & (gbuffer.normals[..., 2] < 0.2)
    assert 0.2 < whiter[ground].mean() < 0.9
    assert whiter[wall].mean() < 0.5 * whiter[ground].mean()


def test_rain_darkens_wet_ground_and_snowfall_and_fog_veil_the_view(scene):
    from stbench.synth.town import GROUND

    _, gbuffer = scene
    ground = gbuffer.material == GROUND
    overcast = _look(scene, Weather(0.95))
    rain = _look(scene, Weather(0.95, rain=1.0, wet=1.0))
    snowfall = _look(scene, Weather(0.95, snowfall=1.0))
    fog = _look(scene, Weather(0.3, fog=0.02))
    clear = _look(scene, Weather(0.3))
    assert rain[ground].mean() < overcast[ground].mean() - 5
    assert fog.std() < 0.6 * clear.std()
    # Flakes: single pixels brighter than all four neighbours, against the same overcast light
    # (a sunlit town has specks of its own: window sills, lamps, decals)
    assert _specks(snowfall) > 3 * max(_specks(overcast), 5)


def _specks(image: np.ndarray) -> int:
    grey = image.mean(axis=2)
    centre = grey[1:-1, 1:-1]
    around = np.maximum.reduce([grey[:-2, 1:-1], grey[2:, 1:-1], grey[1:-1, :-2], grey[1:-1, 2:]])
    return int(((centre - around) > 15).sum())


def test_megadepth_truth_records_the_weather_kind(truth):
    assert set(truth.weather) <= set(WEATHER_KINDS)
    assert truth.weather.nunique() >= 2


def test_climate_summary_covers_every_site():
    from stbench.synth.weather import climate_summary

    rows = {row["site"]: row for row in climate_summary(2019)}
    assert set(rows) == {site.name for site in SITES}
    assert all(sum(row[kind] for kind in WEATHER_KINDS) == 365 for row in rows.values())
    assert rows["porto"]["snowfall"] == 0 and rows["innsbruck"]["snowfall"] > 0
