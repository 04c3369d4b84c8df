"""The `new-method` template teaches: its hour predictor uses the image and beats chance."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections import Counter

import numpy as np
import pandas as pd
import pytest


def _load_template(tmp_path):
    from stbench.methods.template import write_template

    path, _spec = write_template("teach_me", tmp_path)
    module_spec = importlib.util.spec_from_file_location("teach_me_template", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.TeachMe


def _synthetic_frames(tmp_path):
    """(image, record, {"hour": label}, day) of the small synthetic world's clean webcam frames."""
    from PIL import Image

    from stbench.spans import span_labels
    from stbench.synth.sites import SITES
    from stbench.synth.webcams import write_webcams

    write_webcams(tmp_path, SITES, "small", seed=0, workers=1)
    truth = pd.read_parquet(tmp_path / "truth" / "webcam_frames.parquet")
    cameras = pd.read_csv(tmp_path / "webcams" / "cameras.csv", dtype={"id": str})
    lat = truth["camera_id"].map(dict(zip(cameras["id"], cameras["lat"], strict=True)))
    hours = span_labels("hour", truth["content_time_utc"], truth["utc_offset_min"], lat)
    archives: dict[str, zipfile.ZipFile] = {}
    frames = []
    for row, hour in zip(truth.itertuples(), hours, strict=True):
        if row.fault or pd.isna(hour):  # damaged, frozen or mislabelled frames: not teaching data
            continue
        camera, archive, member = row.path.split("/")
        key = f"{camera}/{archive}"
        if key not in archives:
            archives[key] = zipfile.ZipFile(tmp_path / "webcams" / camera / archive)
        image = np.asarray(Image.open(io.BytesIO(archives[key].read(member))).convert("RGB"))
        day = row.content_time_utc.toordinal()
        frames.append((image, {"image_id": row.path}, {"hour": int(hour)}, day))
    for handle in archives.values():
        handle.close()
    return frames


def test_template_hour_beats_the_majority_class_on_a_synthetic_world(tmp_path):
    factory = _load_template(tmp_path)
    frames = _synthetic_frames(tmp_path / "world")
    train = [f[:3] for f in frames if f[3] % 2 == 0]  # even days train, odd days test
    test = [f[:3] for f in frames if f[3] % 2 == 1]
    assert len(train) > 100 and len(test) > 100
    method = factory()
    method.fit(iter(train))
    guesses = [
        int(np.argmax(method.predict_time(image, record)["hour"])) for image, record, _ in test
    ]
    truth = [labels["hour"] for _, _, labels in test]
    accuracy = float(np.mean(np.array(guesses) == np.array(truth)))
    majority = Counter(truth).most_common(1)[0][1] / len(truth)
    print(f"template hour accuracy {accuracy:.3f}, majority class {majority:.3f}, n {len(test)}")
    assert accuracy > majority + 0.05


def test_template_without_labelled_train_images_predicts_uniform(tmp_path):
    method = _load_template(tmp_path)()
    image = np.zeros((8, 8, 3), np.uint8)
    method.fit([(image, {}, {}), (None, {}, {"hour": 3})])  # no usable (image, hour)
    hour = method.predict_time(image, {})["hour"]
    assert hour.shape == (24,) and np.allclose(hour, 1 / 24)


def test_template_gives_probability_zero_to_hours_never_seen(tmp_path):
    method = _load_template(tmp_path)()
    dark, bright = np.full((8, 8, 3), 10, np.uint8), np.full((8, 8, 3), 240, np.uint8)
    method.fit([(dark, {}, {"hour": 2}), (bright, {}, {"hour": 13})])
    hour = method.predict_time(bright, {})["hour"]
    assert hour.sum() == pytest.approx(1.0)
    assert (
        int(np.argmax(hour)) == 13 and hour[[h for h in range(24) if h not in (2, 13)]].max() == 0
    )
    assert int(np.argmax(method.predict_time(dark, {})["hour"])) == 2
