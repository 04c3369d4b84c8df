"""A small synthetic world (MegaDepth part) shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    from stbench.synth.world import WorldConfig, generate_world

    return generate_world(
        WorldConfig("small", 0, webcams=False),
        tmp_path_factory.mktemp("synth") / "world",
        workers=2,
    )


@pytest.fixture(scope="session")
def truth(small_world):
    import pandas as pd

    return pd.read_parquet(small_world / "truth" / "megadepth_images.parquet")
