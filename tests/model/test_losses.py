import math

import pytest
import torch

from stbench.model import losses


def _unit(*values):
    return torch.nn.functional.normalize(torch.tensor(values, dtype=torch.float32), dim=-1)


def test_sample_descriptors_pixel_centres():
    # A 2x2 map at stride 4: cell (i, j) covers image pixels 4j..4j+3; its centre is 4j + 1.5.
    dense = torch.arange(4, dtype=torch.float32).reshape(1, 1, 2, 2)
    points = torch.tensor([[[1.5, 1.5], [5.5, 1.5], [3.5, 1.5], [5.5, 5.5]]])
    samples = losses.sample_descriptors(dense, points, stride=4)[0, :, 0]
    assert samples.tolist() == pytest.approx([0.0, 1.0, 0.5, 3.0])


def test_correspondence_loss_hand_computed():
    # Three correspondences; descriptors in 2-D.  d0 = [e_x, e_y, e_x], d1 = [e_x, e_x, e_y].
    desc0 = _unit([1.0, 0.0], [0.0, 1.0], [1.0, 0.0])[None]
    desc1 = _unit([1.0, 0.0], [1.0, 0.0], [0.0, 1.0])[None]
    # Points 0 and 1 are 1 px apart (not negatives of each other at radius 2); point 2 is far.
    keypoints = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]]])
    valid = torch.tensor([[True, True, True]])
    terms = losses.correspondence_terms(desc0, desc1, keypoints, keypoints, valid, 2.0)
    sqrt2 = math.sqrt(2)
    assert terms["positive"][0].tolist() == pytest.approx([0.0, sqrt2, sqrt2])
    # Negatives: 0 <-> 2, 1 <-> 2.  Hardest negative of i = min over both directions.
    # i=0: d(d0_0, d1_2) = sqrt2, d(d1_0, d0_2) = 0 -> 0.  i=1: d(d0_1, d1_2) = 0 -> 0.
    # i=2: d(d0_2, d1_0) = 0, d(d0_2, d1_1) = 0 -> 0.
    assert terms["negative"][0].tolist() == pytest.approx([0.0, 0.0, 0.0])
    loss, report = losses.correspondence_loss(terms, valid, margin=1.0)
    # positive mean = 2 sqrt2 / 3; hinge mean = max(0, 1 - 0) = 1.
    assert float(report["positive"]) == pytest.approx(2 * sqrt2 / 3)
    assert float(report["hinge"]) == pytest.approx(1.0)
    assert float(loss) == pytest.approx(2 * sqrt2 / 3 + 1.0)
    # Padding is ignored: invalidating point 2 leaves no negatives (hinge 0), positives 0, sqrt2.
    valid = torch.tensor([[True, True, False]])
    terms = losses.correspondence_terms(desc0, desc1, keypoints, keypoints, valid, 2.0)
    loss, report = losses.correspondence_loss(terms, valid, margin=1.0)
    assert float(report["hinge"]) == 0.0 and float(loss) == pytest.approx(sqrt2 / 2)


def test_distinctiveness_targets_and_loss_hand_computed():
    # Image 0 descriptor 0 is close (< margin) to image-1 descriptors 1 and 2 (both negatives).
    desc0 = _unit([1.0, 0.0], [0.0, 1.0], [0.0, -1.0])[None]
    desc1 = _unit([0.0, 1.0], [1.0, 0.1], [1.0, -0.1])[None]
    keypoints = torch.tensor([[[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]])
    valid = torch.ones(1, 3, dtype=torch.bool)
    terms = losses.correspondence_terms(desc0, desc1, keypoints, keypoints, valid, 2.0)
    targets0, targets1 = losses.distinctiveness_targets(terms, margin=0.5)
    # Image 0: i=0 has 2 close negatives (d1_1, d1_2) -> 3^-0.25; i=1 (e_y) has one (d1_0 = e_y)
    # -> 2^-0.25; i=2 (-e_y) has none -> 1.
    assert targets0[0].tolist() == pytest.approx([3**-0.25, 2**-0.25, 1.0])
    # Image 1: j=0 (e_y) is close to d0_1 -> 2^-0.25; j=1, j=2 are close to d0_0 -> 2^-0.25.
    assert targets1[0].tolist() == pytest.approx([2**-0.25, 2**-0.25, 2**-0.25])
    scores0 = torch.tensor([[1.0, 1.0, 1.0]])
    scores1 = torch.tensor([[1.0, 1.0, 1.0]])
    loss = losses.distinctiveness_loss(scores0, scores1, targets0, targets1, valid)
    expected = ((1 - 3**-0.25) + (1 - 2**-0.25) + 0 + 3 * (1 - 2**-0.25)) / 6
    assert float(loss) == pytest.approx(expected)


def test_temporal_terms_circular_mse_and_ce():
    # Months (12 classes, cyclic): half the mass on December (11), half on February (1); truth
    # January (0): distances 1 and 1 -> MSE 1.  Uniform over hours with truth 0: mean of d^2.
    logits = torch.full((1, 12), -1e9)
    logits[0, 11] = logits[0, 1] = 0.0
    terms = losses.temporal_terms(logits, torch.tensor([0]), "month")
    assert float(terms["mse"][0]) == pytest.approx(1.0)
    assert float(terms["ce"][0]) == pytest.approx(1e9, rel=1e-3)  # January has ~0 probability
    hours = losses.temporal_terms(torch.zeros(1, 24), torch.tensor([0]), "hour")
    distances = [min(h, 24 - h) for h in range(24)]
    assert float(hours["mse"][0]) == pytest.approx(sum(d * d for d in distances) / 24)
    assert float(hours["ce"][0]) == pytest.approx(math.log(24))
    assert float(hours["max_sq"]) == 144.0
    with pytest.raises(ValueError, match="classes"):
        losses.temporal_terms(torch.zeros(1, 5), torch.tensor([0]), "season")


def test_temporal_loss_weights_and_missing_labels():
    logits = {"season": torch.zeros(2, 4), "hour": torch.zeros(2, 24)}
    labels = torch.tensor([[0, -1], [2, -1]])  # hour unknown for both
    loss, report = losses.temporal_loss(logits, labels, ["season", "hour"], {"season": 0.5}, 1.0)
    # Season uniform: E[d^2] = (0 + 1 + 4 + 1) / 4 = 1.5 for any truth; normalised by 4.
    assert float(report["mse_season"]) == pytest.approx(1.5)
    assert "mse_hour" not in report
    assert float(loss) == pytest.approx(0.5 * (1.5 / 4 + math.log(4)))


def test_contrastive_loss_hand_computed():
    # Two far-apart points with orthogonal descriptors: logits -d^2 / (2 T) with T = 0.5 are
    # [[0, -2], [-2, 0]]; each row's loss is log(1 + e^-2), in both directions.
    desc = _unit([1.0, 0.0], [0.0, 1.0])[None]
    keypoints = torch.tensor([[[0.0, 0.0], [50.0, 0.0]]])
    valid = torch.tensor([[True, True]])
    terms = losses.correspondence_terms(desc, desc, keypoints, keypoints, valid, 8.0)
    assert float(losses.contrastive_loss(terms, valid, 0.5)) == pytest.approx(
        math.log(1 + math.exp(-2))
    )
    # Without valid negatives only the true match remains: loss 0.
    valid = torch.tensor([[True, False]])
    terms = losses.correspondence_terms(desc, desc, keypoints, keypoints, valid, 8.0)
    assert float(losses.contrastive_loss(terms, valid, 0.5)) == pytest.approx(0.0)


def test_dense_contrastive_loss_hand_computed():
    # A (1, 2) map at stride 4: cell centres (1.5, 1.5) and (5.5, 1.5) with descriptors [1, 0]
    # and [0, 1]. The query [1, 0] truly matches (1.5, 1.5) with target [1, 0] (d^2 = 0); with a
    # 2 px radius cell 0 is excluded and cell 1 (4 px away, d^2 = 2) is the only negative:
    # logits [0, -2] at T = 0.5, loss log(1 + e^-2).
    dense = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).T.reshape(1, 2, 1, 2)
    query = _unit([1.0, 0.0])[None]
    target_keypoint = torch.tensor([[[1.5, 1.5]]])
    valid = torch.tensor([[True]])
    loss = losses.dense_contrastive_loss(query, query, dense, target_keypoint, valid, 4, 2.0, 0.5)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-2)))
    # A 5 px radius excludes both cells: only the true match remains, loss 0.
    loss = losses.dense_contrastive_loss(query, query, dense, target_keypoint, valid, 4, 5.0, 0.5)
    assert float(loss) == pytest.approx(0.0)
    # A padded (invalid) point does not count.
    loss = losses.dense_contrastive_loss(
        query, query, dense, target_keypoint, torch.tensor([[False]]), 4, 2.0, 0.5
    )
    assert float(loss) == 0.0


def test_temporal_loss_cross_entropy_on_and_off_hand_computed():
    # Season (4 classes, cyclic) logits [ln 2, 0, 0, 0]: p = [2/5, 1/5, 1/5, 1/5]. Truth 0:
    # E[d^2] = (0 + 1 + 4 + 1) / 5 = 6/5, CE = -ln(2/5). Truth 2: E[d^2] = (2*4 + 1 + 0 + 1) / 5
    # = 2, CE = -ln(1/5). The loss is weight * (mse_weight * mean E[d^2] / 4 + ce_weight * mean CE).
    logits = {"season": torch.tensor([[math.log(2), 0.0, 0.0, 0.0]] * 2)}
    labels = torch.tensor([[0], [2]])
    mse = (6 / 5 + 2) / 2
    ce = (-math.log(2 / 5) - math.log(1 / 5)) / 2
    with_ce, report = losses.temporal_loss(logits, labels, ["season"], {"season": 1.0}, 1.0)
    assert float(report["mse_season"]) == pytest.approx(mse)
    assert float(report["ce_season"]) == pytest.approx(ce)
    assert float(with_ce) == pytest.approx(mse / 4 + ce)
    mse_only, _ = losses.temporal_loss(logits, labels, ["season"], {"season": 1.0}, 0.0)
    assert float(mse_only) == pytest.approx(mse / 4)
    weighted, _ = losses.temporal_loss(logits, labels, ["season"], {"season": 0.5}, 2.0, 3.0)
    assert float(weighted) == pytest.approx(0.5 * (3.0 * mse / 4 + 2.0 * ce))
