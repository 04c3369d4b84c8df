import pytest
from manifest_fakes import FAKE_SOURCES, make_megadepth, make_webcams

from stbench.manifest.build import build_manifest
from stbench.manifest.config import BuildConfig, SplitConfig, TemporalPairConfig

SCENES = {"0015": 5, "5001": 6, "0008": 4}
CAMERAS = {"00000001": 30, "00000002": 24}


def make_roots(base):
    return make_megadepth(base / "md", SCENES), make_webcams(base / "wc", CAMERAS)


def make_config(roots) -> BuildConfig:
    megadepth, webcams = roots
    return BuildConfig(
        name="fake",
        megadepth_root=str(megadepth),
        webcam_root=str(webcams),
        splits=SplitConfig(webcam_test=["00000002"]),
        temporal=TemporalPairConfig(pairs_per_camera_span=8, min_dt_seconds=0.0),
    )


@pytest.fixture
def roots(tmp_path):
    """A tiny MegaDepth root and webcam root built by the fakes (fresh per test)."""
    return make_roots(tmp_path)


@pytest.fixture
def config(roots):
    return make_config(roots)


@pytest.fixture
def sources():
    return FAKE_SOURCES


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """One manifest built from the fakes, shared by read-only tests: (directory, config)."""
    base = tmp_path_factory.mktemp("built")
    config = make_config(make_roots(base))
    return build_manifest(config, base / "manifest", sources=FAKE_SOURCES), config


@pytest.fixture(scope="session")
def small_world_manifest(tmp_path_factory):
    """The small synthetic world (with webcams) and its manifest built the way
    ``stbench build-manifest --preset small`` does: (world, manifest directory)."""
    from stbench.manifest.build import run_build
    from stbench.paths import default_world_dir
    from stbench.synth.config import WorldConfig
    from stbench.synth.world import generate_world

    base = tmp_path_factory.mktemp("small_world")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STBENCH_HOME", str(base / "home"))
        world = generate_world(WorldConfig("small", 0), default_world_dir("small", 0), workers=1)
        report = run_build(BuildConfig(synthetic_preset="small"), base / "manifest")
    return world, report.out
