import hashlib
import importlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from stbench.errors import ConfigError
from stbench.methods import registry
from stbench.methods.base import (
    MatchResult,
    MethodOutputError,
    validate_match_result,
    validate_time_prediction,
)
from stbench.methods.registry import resolve_method


def _result(**changes):
    values = {
        "keypoints0": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "keypoints1": np.array([[5.0, 6.0]]),
        "matches": np.array([[0, 0]]),
        "scores": np.array([0.9]),
    }
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"keypoints0": np.array([[np.nan, 1.0]])}, "NaN"),
        ({"keypoints0": np.zeros((2, 3))}, "shape"),
        ({"matches": np.array([[0, 1]])}, "out of range"),
        ({"matches": np.array([[-1, 0]])}, "out of range"),
        ({"matches": np.array([0, 0, 0])}, "shape"),
        ({"scores": np.array([0.1, 0.2])}, "scores"),
        ({"keypoints1": np.array([[500.0, 6.0]])}, "outside"),
    ],
)
def test_validation_rejects_garbage(changes, message):
    with pytest.raises(MethodOutputError, match=message):
        validate_match_result(_result(**changes), (100, 100, 3), (100, 100, 3))


def test_validation_cleans_types_and_duplicates():
    output = _result(
        keypoints1=np.array([[5.0, 6.0], [7.0, 8.0]]),
        matches=np.array([[0, 0], [0, 1], [1, 1]], dtype=np.float64),
        scores=np.array([0.2, 0.7, 0.5]),
    )
    result, dropped = validate_match_result(output)
    assert dropped == 1 and result.matches.dtype == np.int64
    assert result.matches.tolist() == [[0, 1], [1, 1]]  # keypoint 0 keeps its best match
    np.testing.assert_allclose(result.scores, [0.7, 0.5])
    with pytest.raises(MethodOutputError, match="expected MatchResult"):
        validate_match_result([1, 2])


def test_time_prediction_validation():
    assert validate_time_prediction({"season": [0.1, 0.6, 0.2, 0.1]}) == {"season": 1}
    with pytest.raises(MethodOutputError, match="shape"):
        validate_time_prediction({"month": [1.0, 0.0]})
    with pytest.raises(MethodOutputError, match="finite"):
        validate_time_prediction({"season": [np.nan, 1, 0, 0]})


def test_registry_builtins_and_suggestions():
    assert resolve_method("sift").name == "sift"
    assert resolve_method("orb", {"max_keypoints": 100}).config() == {"max_keypoints": 100}
    with pytest.raises(ConfigError, match="did you mean 'max_keypoints'"):
        resolve_method("sift", {"max_keypoint": 10})
    with pytest.raises(ConfigError, match="Did you mean 'sift'"):
        resolve_method("sitf")
    with pytest.raises(ConfigError, match="cannot import"):
        resolve_method("no_such_pkg.module:Thing")


PLUGIN = """
import numpy as np
from stbench.methods.base import MatchResult


class Tiny:
    name = "tiny"
    version = "1"

    def config(self):
        return {}

    def match(self, image0, image1):
        points = np.array([[1.0, 1.0]], np.float32)
        return MatchResult(points, points, np.array([[0, 0]]), np.array([1.0]))


class NotAMethod:
    pass
"""


def test_registry_file_module_and_entry_point(tmp_path, monkeypatch):
    path = tmp_path / "tiny_plugin.py"
    path.write_text(PLUGIN)
    assert resolve_method(f"{path}:Tiny").name == "tiny"
    with pytest.raises(ConfigError, match="did you mean Tiny"):
        resolve_method(f"{path}:Tinyy")
    with pytest.raises(ConfigError, match="lacks"):
        resolve_method(f"{path}:NotAMethod")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_method("tiny_plugin:Tiny").name == "tiny"

    entry = types.SimpleNamespace(name="mine", value="tiny_plugin:Tiny")
    entry.load = lambda: sys.modules["tiny_plugin"].Tiny
    monkeypatch.setattr(registry, "entry_points", lambda: {"mine": entry})
    assert resolve_method("mine").name == "tiny"
    assert "mine" in registry.available_methods()
    clash = types.SimpleNamespace(name="sift", value="tiny_plugin:Tiny", load=entry.load)
    monkeypatch.setattr(registry, "entry_points", lambda: {"sift": clash})
    with pytest.warns(UserWarning, match="both a built-in and an entry point"):
        assert resolve_method("sift").name == "sift"


def test_registry_is_lazy():
    import subprocess

    code = (
        "import sys, stbench.methods.registry as r; r.available_methods();"
        "print(any(m.startswith(('cv2', 'sklearn', 'torch', 'h5py')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sift_matches_an_image_with_itself():
    from tests.evaluate.worlds import _texture

    image = _texture()
    result = resolve_method("sift").match(image, image)
    assert isinstance(result, MatchResult) and len(result.matches) > 20
    kp0 = result.keypoints0[result.matches[:, 0]]
    kp1 = result.keypoints1[result.matches[:, 1]]
    assert np.median(np.linalg.norm(kp0 - kp1, axis=1)) < 0.5


def test_reference_wraps_the_model_contract(monkeypatch):
    # stbench.model's contract: load_matcher(weights, device) -> Matcher with match() -> dict
    # and predict_time(image, latitude) -> {span: probabilities}; the record gives the latitude.
    calls = {}

    class FakeMatcher:
        version = "7"
        match_ratio = 1.0

        def match(self, image0, image1):
            points = np.array([[1.0, 2.0]], np.float32)
            return {"keypoints0": points, "keypoints1": points, "matches": np.array([[0, 0]]),
                    "scores": np.array([0.5], np.float32)}  # fmt: skip

        def predict_time(self, image, latitude=None):
            calls["latitude"] = latitude
            return {"season": np.array([0.1, 0.7, 0.1, 0.1], np.float32)}

    def load_matcher(weights=None, device="cpu"):
        calls["args"] = (weights, device)
        return FakeMatcher()

    # the real package with a fake load_matcher (replacing the package in sys.modules would hide
    # its submodules, e.g. stbench.model.fine, from a test run alone)
    monkeypatch.setattr(importlib.import_module("stbench.model"), "load_matcher", load_matcher)
    method = resolve_method("reference", {"device": "cpu"})
    # the version is the weights' digest (here the bundled file's), whatever the model says
    from importlib import resources

    bundled = Path(str(resources.files("stbench") / "weights" / "reference.safetensors"))
    digest = hashlib.sha256(bundled.read_bytes()).hexdigest()
    assert calls["args"] == (None, "cpu") and method.version == digest[:12]
    image = np.zeros((8, 8, 3), np.uint8)
    result, _ = validate_match_result(method.match(image, image))
    assert result.matches.tolist() == [[0, 0]]
    assert validate_time_prediction(method.predict_time(image, {})) == {"season": 1}
    assert calls["latitude"] is None
    method.predict_time(image, {"lat": -41.1})
    assert calls["latitude"] is None and method.track == "pixels"  # pixels: no latitude
    located = resolve_method("reference", {"use_latitude": True})
    located.predict_time(image, {"lat": -41.1})
    assert calls["latitude"] == -41.1 and located.track == "metadata"
    located.predict_time(image, {"lat": float("nan")})
    assert calls["latitude"] is None
    assert located.config()["use_latitude"] and not method.config()["use_latitude"]


def test_reference_version_follows_the_weights(tmp_path, monkeypatch):
    class FakeMatcher:
        version = "bundled"
        match_ratio = 1.0

    monkeypatch.setattr(
        importlib.import_module("stbench.model"),
        "load_matcher",
        lambda weights=None, device="cpu": FakeMatcher(),
    )
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    first.write_bytes(b"weights one")
    second.write_bytes(b"weights two")
    one = resolve_method("reference", {"weights": str(first)})
    two = resolve_method("reference", {"weights": str(second)})
    assert one.version == hashlib.sha256(b"weights one").hexdigest()[:12]
    assert one.version != two.version  # a retrained model never passes for another


def test_predict_time_with_or_without_record():
    from stbench.methods.base import call_predict_time

    class ImageOnly:
        def predict_time(self, image):
            return {"hour": image}

    class WithRecord:
        def predict_time(self, image, record):
            return {"hour": record["x"]}

    assert call_predict_time(ImageOnly(), 1, {"x": 2}) == {"hour": 1}
    assert call_predict_time(WithRecord(), 1, {"x": 2}) == {"hour": 2}


def test_forest_probabilities_equal_predict_proba():
    from sklearn.ensemble import RandomForestClassifier

    from stbench.methods.colorstats import forest_probabilities

    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5))
    labels = (features[:, 0] > 0).astype(int) + (features[:, 1] > 0.5)
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(features, labels)
    np.testing.assert_allclose(
        forest_probabilities(forest, features[:4]), forest.predict_proba(features[:4])
    )
