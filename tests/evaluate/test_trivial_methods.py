"""Trivial rows (issue 11, item 5): ``majority`` and ``constant`` equal hand-computed values.

The default webcam world's 4 train frames are (local time, UTC+1) 15 Jan 09:00 and 14:00 and
15 Jul 09:00 and 14:00 at 5 N, so the train labels are season (0, 0, 2, 2), month (0, 0, 6, 6),
week (2, 2, 28, 28) and hour (9, 14, 9, 14). The 3 test frames are 16 Jan 09:10 (winter, month
0, week 2, hour 9), 16 Jul 14:10 (summer, 6, 28, 14) and 16 Oct 14:10 (autumn, 9, 41, 14).
"""

import json

import numpy as np
import pytest

from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from stbench.methods.registry import resolve_method
from stbench.methods.trivial import majority_class, mse_constant
from stbench.spans import get_span
from tests.evaluate.worlds import make_webcam_world

# Ties go to the smallest class.
MAJORITY = {"season": 0, "month": 0, "week": 2, "hour": 9}
# season: c=1 -> distances 1,1,1,1 -> MSE 1 (c=0: 2, c=3: 1 but larger);
# month: c=3 -> 3,3,3,3 -> 9 (c=0: 18, c=2: 10); week: 2 and 28 are 26 apart on the
# 52-week circle, c=15 (or 41) -> 13 each -> 169; hour: c=11 -> 2,3,2,3 -> 6.5 (c=12 ties).
CONSTANT = {"season": 1, "month": 3, "week": 15, "hour": 11}


def _fitted(name):
    method = resolve_method(name)
    train = [
        (None, {"item": str(i)}, labels)
        for i, labels in enumerate(
            [
                {"season": 0, "month": 0, "week": 2, "hour": 9},
                {"season": 0, "month": 0, "week": 2, "hour": 14},
                {"season": 2, "month": 6, "week": 28, "hour": 9},
                {"season": 2, "month": 6, "week": 28, "hour": 14},
            ]
        )
    ]
    method.fit(train)
    return method


@pytest.mark.parametrize(("name", "expected"), [("majority", MAJORITY), ("constant", CONSTANT)])
def test_trivial_methods_equal_hand_computed_classes(name, expected):
    method = _fitted(name)
    assert method.classes == expected
    output = method.predict_time(None, {"item": "x"})
    assert {span: int(np.argmax(v)) for span, v in output.items()} == expected
    assert method.track == "pixels" and not method.needs_images


def test_mse_constant_is_the_brute_force_minimum():
    rng = np.random.default_rng(3)
    for span_name in ("season", "month", "week", "hour"):
        n = get_span(span_name).n_classes
        labels = rng.integers(0, n, 17)
        costs = []
        for c in range(n):  # a plain loop with the circular distance written out
            diff = np.abs(labels - c)
            costs.append(np.mean(np.minimum(diff, n - diff) ** 2))
        assert mse_constant(span_name, labels) == int(np.argmin(costs))
        assert majority_class(labels, n) == int(np.argmax(np.bincount(labels, minlength=n)))


def test_trivial_rows_end_to_end(tmp_path):
    from stbench.errors import DataError

    manifest = make_webcam_world(tmp_path)
    metrics = {}
    for name in ("majority", "constant"):
        run = evaluate(
            EvaluateConfig(name, n_bootstrap=10), manifest, out=tmp_path / name, write_plots=False
        )
        summary = json.loads((run / "summary.json").read_text())
        assert summary["track"] == "pixels"
        metrics[name] = summary["metrics"]
    # test truth: season (0, 2, 3), month (0, 6, 9), hour (9, 14, 14)
    assert metrics["majority"]["time_accuracy_season"]["value"] == pytest.approx(1 / 3)
    assert metrics["majority"]["time_accuracy_hour"]["value"] == pytest.approx(1 / 3)
    assert metrics["constant"]["time_accuracy_season"]["value"] == 0.0
    # constant month 3: errors 3, 3 (circular), 6 -> MSE (9 + 9 + 36) / 3 = 18
    assert metrics["constant"]["time_mse_month"]["value"] == pytest.approx(18.0)
    # majority month 0: errors 0, 6, 3 -> MSE (0 + 36 + 9) / 3 = 15
    assert metrics["majority"]["time_mse_month"]["value"] == pytest.approx(15.0)
    with pytest.raises(DataError, match="majority found no training images"):
        evaluate(
            EvaluateConfig("majority", split="all", n_bootstrap=10), manifest, out=tmp_path / "all"
        )
