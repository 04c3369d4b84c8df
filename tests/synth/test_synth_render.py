"""Renderer: hand-computed intersections, camera conventions, light and season behaviour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stbench.synth.raycast import hit_ellipsoid, hit_polyhedron
from stbench.synth.render import Camera, look_at, render_geometry
from stbench.synth.shade import Weather, leaf_cover, sample_weather, shade
from stbench.synth.sites import SITES, site_by_name
from stbench.synth.town import GROUND, build_town

UNIT_CUBE_NORMALS = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1.0]]
)
UNIT_CUBE_OFFSETS = np.ones(6)


def test_ray_enters_unit_cube_at_hand_computed_distance():
    origins = np.array([[-5.0, 0.0, 0.0], [-5.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    dirs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    t, plane = hit_polyhedron(UNIT_CUBE_NORMALS, UNIT_CUBE_OFFSETS, origins, dirs, 1e-9)
    assert t[0] == pytest.approx(4.0)
    assert plane[0] == 1  # entered through the x = -1 face
    assert np.isinf(t[1])  # passes beside the cube
    assert np.isinf(t[2])  # starts inside: no entry


def test_ray_meets_ellipsoid_at_hand_computed_distance():
    t = hit_ellipsoid(
        np.zeros(3),
        np.array([2.0, 1.0, 1.0]),
        np.array([[-10.0, 0, 0]]),
        np.array([[2.0, 0, 0]]),
        0,
    )
    assert t[0] == pytest.approx(4.0)  # x = -2 reached after 8 m at 2 m per unit t


def test_look_at_points_the_optical_axis_at_the_target():
    R, t = look_at([10.0, 0.0, 2.0], [0.0, 0.0, 2.0])
    cam = R @ np.array([0.0, 0.0, 2.0]) + t
    assert cam[:2] == pytest.approx([0, 0], abs=1e-12)
    assert cam[2] == pytest.approx(10.0)
    assert np.linalg.det(R) == pytest.approx(1.0)
    assert (R @ np.array([0, 0, 1.0]))[1] < 0  # world up is image up (camera y points down)


def test_camera_rejects_bad_shapes():
    with pytest.raises(ValueError, match="K must have shape"):
        Camera(4, 4, np.eye(2), np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="positive"):
        Camera(0, 4, np.eye(3), np.eye(3), np.zeros(3))


@pytest.fixture(scope="module")
def town():
    return build_town(SITES[0], 0)


def test_ground_depth_is_exact_for_a_camera_looking_straight_down(town):
    # A camera 3 m above the far ground (no objects out there), looking down: z-depth = 3 m.
    R = np.diag([1.0, -1.0, -1.0])
    eye = np.array([300.0, 300.0, 3.0])
    K = np.array([[20.0, 0, 3.5], [0, 20.0, 2.5], [0, 0, 1]])
    g = render_geometry(town, Camera(8, 6, K, R, -R @ eye))
    assert np.allclose(g.depth, 3.0, rtol=1e-9)
    assert (g.material == GROUND).all()
    assert np.allclose(g.points[..., 2], 0.0, atol=1e-9)


def _view(town, size=(96, 72)):
    R, t = look_at([25.0, -22.0, 1.7], [0.0, 0.0, 10.0])
    K = np.array([[80.0, 0, (size[0] - 1) / 2], [0, 80.0, (size[1] - 1) / 2], [0, 0, 1]])
    return Camera(size[0], size[1], K, R, t)


def test_depth_matches_world_points(town):
    camera = _view(town)
    g = render_geometry(town, camera)
    valid = g.depth > 0
    assert 0.3 < valid.mean() < 1.0  # some sky, mostly town
    cam = g.points[valid] @ camera.R.T + camera.t
    assert np.allclose(cam[:, 2], g.depth[valid], rtol=1e-5)
    v, u = np.nonzero(valid)
    uv = (cam @ camera.K.T)[:, :2] / cam[:, 2:3]
    assert np.allclose(uv, np.stack([u, v], 1), atol=1e-6)


def test_night_is_darker_than_noon_and_snow_brightens_the_ground(town):
    camera = _view(town)
    g = render_geometry(town, camera)
    rng = np.random.default_rng(0)
    noon = dt.datetime(2020, 1, 15, 11, 0, tzinfo=dt.timezone.utc)
    night = dt.datetime(2020, 1, 15, 23, 0, tzinfo=dt.timezone.utc)
    clear = shade(town, g, noon, Weather(0.1, 0, 0), rng, noise=0)
    dark = shade(town, g, night, Weather(0.1, 0, 0), rng, noise=0)
    snowy = shade(town, g, noon, Weather(0.9, 0, 1.0), rng, noise=0)
    assert clear.shape == (72, 96, 3) and clear.dtype == np.uint8
    assert dark.mean() < 0.6 * clear.mean()
    ground = g.material == GROUND
    assert snowy[ground].mean() > clear[ground].mean() + 20


def test_seasons_follow_the_hemisphere():
    north, south = site_by_name("innsbruck"), site_by_name("christchurch")
    july, january = dt.date(2020, 7, 10), dt.date(2020, 1, 10)
    assert leaf_cover(july, north) == 1.0 and leaf_cover(january, north) < 0.1
    assert leaf_cover(january, south) == 1.0 and leaf_cover(july, south) < 0.1
    rng = np.random.default_rng(0)
    summer_snow = [sample_weather(dt.date(2020, 7, d), north, rng).snow for d in range(1, 29)]
    winter_snow = [sample_weather(dt.date(2020, 1, d), north, rng).snow for d in range(1, 29)]
    assert max(summer_snow) == 0 and max(winter_snow) > 0


def test_shade_is_deterministic_for_a_seeded_generator(town):
    camera = _view(town)
    g = render_geometry(town, camera)
    when = dt.datetime(2020, 5, 1, 9, 0, tzinfo=dt.timezone.utc)
    a = shade(town, g, when, Weather(0.3, 0.0, 0.0), np.random.default_rng(5))
    b = shade(town, g, when, Weather(0.3, 0.0, 0.0), np.random.default_rng(5))
    assert np.array_equal(a, b)
