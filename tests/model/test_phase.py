import numpy as np
import pandas as pd

from stbench.manifest.io import load_manifest
from stbench.model.data import TemporalDataset
from stbench.model.phase import to_calendar, to_phase

SPANS = ["season", "month", "week", "hour"]


def test_to_phase_shifts_southern_month_and_week_by_half_a_year():
    labels = np.array([0, 11, 5, -1, 3])
    latitude = np.array([45.0, -41.0, -41.0, -41.0, np.nan])
    # January in the south is July in seasonal phase; unknown labels and latitudes stay.
    assert to_phase(labels, latitude, "month").tolist() == [0, 5, 11, -1, 3]
    assert to_phase(np.array([0, 30]), np.array([-1.0, -1.0]), "week").tolist() == [26, 4]
    # season already follows the hemisphere; hour does not depend on it.
    assert to_phase(labels, latitude, "season").tolist() == labels.tolist()
    assert to_phase(labels, latitude, "hour").tolist() == labels.tolist()


def test_to_calendar_undoes_to_phase():
    probabilities = np.eye(12)[2]  # phase: March
    assert to_calendar(probabilities, -41.0, "month").argmax() == 8  # September in the south
    assert to_calendar(probabilities, 45.0, "month").argmax() == 2
    assert to_calendar(probabilities, None, "month").argmax() == 2  # unknown: northern
    assert to_calendar(probabilities, float("nan"), "month").argmax() == 2
    for label in range(52):
        phase = to_phase(np.array([label]), np.array([-10.0]), "week")[0]
        assert to_calendar(np.eye(52)[phase], -10.0, "week").argmax() == label


def test_temporal_dataset_in_seasonal_phase(toy_manifest, tmp_path):
    # The toy webcams are northern (lat 51.5): move the val camera south in a copy.
    manifest = load_manifest(toy_manifest)
    images = manifest.images
    manifest.images = images.assign(lat=np.where(images.split == "val", -33.9, images.lat))
    calendar = TemporalDataset(manifest, "val", SPANS, (48, 32), random_crops=False)
    phase = TemporalDataset(
        manifest, "val", SPANS, (48, 32), random_crops=False, hemisphere_phase=True
    )
    expected = calendar.labels.copy()
    for column, n in ((1, 12), (2, 52)):
        known = expected[:, column] >= 0
        expected[known, column] = (expected[known, column] + n // 2) % n
    assert np.array_equal(phase.labels, expected)
    assert pd.Series(phase.labels[:, 1]).nunique() > 1
