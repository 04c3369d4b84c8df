import pytest

from manifest_fakes import FAKE_SOURCES, make_megadepth, make_webcams
from stbench.manifest.config import BuildConfig, SplitConfig, TemporalPairConfig

SCENES = {"0015": 5, "5001": 6, "0008": 4}
CAMERAS = {"00000001": 30, "00000002": 24}


@pytest.fixture
def roots(tmp_path):
    """A tiny MegaDepth root and webcam root built by the fakes."""
    megadepth = make_megadepth(tmp_path / "md", SCENES)
    webcams = make_webcams(tmp_path / "wc", CAMERAS)
    return megadepth, webcams


@pytest.fixture
def config(roots):
    megadepth, webcams = roots
    return BuildConfig(
        name="fake",
        megadepth_root=str(megadepth),
        webcam_root=str(webcams),
        splits=SplitConfig(webcam_test=["00000002"]),
        temporal=TemporalPairConfig(pairs_per_camera_span=8, min_dt_seconds=0.0),
    )


@pytest.fixture
def sources():
    return FAKE_SOURCES
