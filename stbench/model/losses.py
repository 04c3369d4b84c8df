"""Training losses: correspondence, distinctiveness (D2D) and temporal classification.

- correspondence: mean Euclidean distance between the descriptors of ground-truth
  correspondences, plus a hinge ``max(0, margin - d_neg)`` on the hardest negative of each point
  (the closest descriptor in the other image among sampled points farther than
  ``negative_radius`` pixels from the true match, in either direction, as D2-Net);
- contrastive terms (additions to D2D): InfoNCE among the sampled correspondences, and a dense
  InfoNCE of every point against every cell of the other image's descriptor map beyond a few
  pixels of its true match (:func:`dense_contrastive_loss`), which teaches localisation;
- distinctiveness: L1 between the predicted score and ``1 / N ** 0.25``, where N = 1 + the number
  of negatives closer than the margin (the 1 counts the true match, so the target is in (0, 1]
  and a descriptor that nothing is confused with gets 1), as D2D;
- temporal: per span, the expected squared step error under the predicted distribution
  ``sum_c p_c * dist(c, y) ** 2`` (circular distance for cyclic spans: the MSE of the
  classification in discrete time steps), and the cross-entropy. The loss uses the MSE divided by
  the span's largest squared distance (so spans of 4 and 52 classes weigh alike) plus the
  cross-entropy weighted by ``ce_weight``; the reported ``mse`` is in steps squared.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stbench.model.matching import grid_keypoints
from stbench.spans import SPANS

__all__ = [
    "contrastive_loss",
    "correspondence_loss",
    "correspondence_terms",
    "dense_contrastive_loss",
    "distinctiveness_loss",
    "distinctiveness_targets",
    "sample_descriptors",
    "step_distance_matrix",
    "temporal_loss",
    "temporal_terms",
]


def sample_descriptors(dense: torch.Tensor, keypoints: torch.Tensor, stride: int) -> torch.Tensor:
    """Bilinearly sample dense maps at image keypoints.

    Args:
        dense: (B, C, h, w) maps at 1/``stride`` of the image resolution.
        keypoints: (B, N, 2) image pixels (x, y), pixel centers at integers.
        stride: image pixels per map pixel.
    Returns:
        (B, N, C) samples (not re-normalised).
    """
    height, width = dense.shape[-2:]
    # Map pixel p (centers at integers) to map coordinates (p + 0.5) / stride - 0.5, then to
    # [-1, 1] with align_corners=False.
    grid_x = (keypoints[..., 0] + 0.5) / (stride * width) * 2 - 1
    grid_y = (keypoints[..., 1] + 0.5) / (stride * height) * 2 - 1
    grid = torch.stack([grid_x, grid_y], dim=-1)[:, :, None]  # (B, N, 1, 2)
    samples = F.grid_sample(dense, grid, mode="bilinear", align_corners=False)
    return samples[..., 0].transpose(1, 2)


def _far_mask(keypoints: torch.Tensor, radius: float) -> torch.Tensor:
    """(B, N, N) True where keypoints j lie farther than ``radius`` from keypoint i."""
    return torch.cdist(keypoints, keypoints) > radius


def correspondence_terms(
    descriptors0: torch.Tensor,
    descriptors1: torch.Tensor,
    keypoints0: torch.Tensor,
    keypoints1: torch.Tensor,
    valid: torch.Tensor,
    negative_radius: float,
) -> dict[str, torch.Tensor]:
    """Positive and hardest-negative distances of sampled correspondences.

    Args:
        descriptors0, descriptors1: (B, N, D) L2-normalised descriptors at the correspondences.
        keypoints0, keypoints1: (B, N, 2) pixel positions (for excluding near negatives).
        valid: (B, N) bool, which correspondences are real (the rest is padding).
        negative_radius: negatives must be farther than this (pixels) from the true match.
    Returns:
        ``positive`` (B, N), ``negative`` (B, N) hardest-negative distance (inf where there is
        none), ``distances`` (B, N, N) all distances d(desc0_i, desc1_j), ``negative_mask0``
        (B, N, N) [j is a negative for i in image 1], ``negative_mask1`` (B, N, N) [j is a
        negative for i in image 0].
    """
    distances = torch.cdist(descriptors0, descriptors1)  # (B, N, N)
    positive = distances.diagonal(dim1=1, dim2=2)
    pair_valid = valid[:, :, None] & valid[:, None, :]
    negative_mask0 = _far_mask(keypoints1, negative_radius) & pair_valid  # i vs desc1_j
    negative_mask1 = _far_mask(keypoints0, negative_radius) & pair_valid  # desc0_j vs i
    inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
    hardest0 = torch.where(negative_mask0, distances, inf).amin(dim=2)
    hardest1 = torch.where(negative_mask1.transpose(1, 2), distances, inf).amin(dim=1)
    return {
        "positive": positive,
        "negative": torch.minimum(hardest0, hardest1),
        "distances": distances,
        "negative_mask0": negative_mask0,
        "negative_mask1": negative_mask1,
    }


def correspondence_loss(terms: dict[str, torch.Tensor], valid: torch.Tensor, margin: float):
    """Mean positive distance + mean hinge ``max(0, margin - hardest negative)`` over valid points.

    Returns:
        (loss scalar, dict with ``positive`` and ``hinge`` scalars).
    """
    count = valid.sum().clamp(min=1)
    positive = (terms["positive"] * valid).sum() / count
    negative = torch.where(torch.isfinite(terms["negative"]), terms["negative"], margin)
    hinge = (F.relu(margin - negative) * valid).sum() / count
    return positive + hinge, {"positive": positive.detach(), "hinge": hinge.detach()}


def contrastive_loss(terms: dict[str, torch.Tensor], valid: torch.Tensor, temperature: float):
    """InfoNCE over the sampled correspondences (both directions), an optional extra term.

    For point i, the logits are ``-d(desc0_i, desc1_j) ** 2 / (2 * temperature)`` over j = i and
    the negatives of i (farther than the radius, valid); the loss is the cross-entropy of picking
    j = i, averaged over valid points and both directions. Unlike the hardest-negative hinge, its
    gradient pushes *every* negative away, which keeps descriptors from collapsing to one point.
    """
    distances = terms["distances"]
    n_points = distances.shape[1]
    eye = torch.eye(n_points, dtype=torch.bool, device=distances.device)[None]
    logits = -(distances**2) / (2 * temperature)
    total = distances.new_zeros(())
    for mask, scores in (
        (terms["negative_mask0"], logits),  # row i: desc0_i against desc1_j
        (terms["negative_mask1"], logits.transpose(1, 2)),  # row i: desc1_i against desc0_j
    ):
        allowed = mask | eye  # the true match is always allowed: no all -inf row
        masked = scores.masked_fill(~allowed, float("-inf"))
        log_probability = torch.log_softmax(masked, dim=2).diagonal(dim1=1, dim2=2)
        total = total + (-log_probability * valid).sum() / valid.sum().clamp(min=1)
    return total / 2


def dense_contrastive_loss(
    queries: torch.Tensor,
    targets: torch.Tensor,
    dense: torch.Tensor,
    target_keypoints: torch.Tensor,
    valid: torch.Tensor,
    stride: int,
    radius: float,
    temperature: float,
) -> torch.Tensor:
    """InfoNCE of each query against *every* cell of the other image's dense map.

    For point i the candidates are its true match (``targets[:, i]``, the dense map sampled at
    the ground-truth position) and every cell of ``dense`` whose centre lies farther than
    ``radius`` pixels from that position; logits are ``-d ** 2 / (2 * temperature)``. Unlike
    :func:`contrastive_loss`, whose negatives are the other sampled points (on a grid, far
    apart), this pushes away descriptors a few pixels from the true match, which is what
    localises matches to a few pixels.

    Args:
        queries: (B, N, D) L2-normalised descriptors of one image at the correspondences.
        targets: (B, N, D) L2-normalised descriptors of the other image at the true matches.
        dense: (B, D, h, w) the other image's L2-normalised dense descriptors.
        target_keypoints: (B, N, 2) the true matches in the other image's pixels.
        valid: (B, N) bool. stride: image pixels per cell.
    Returns:
        scalar mean cross-entropy over valid points (0 when there is none).
    """
    batch, _, height, width = dense.shape
    cells = dense.flatten(2)  # (B, D, h*w)
    # Unit vectors: d^2 = 2 - 2 cos.
    negative_sq = 2.0 - 2.0 * torch.bmm(queries, cells)  # (B, N, h*w)
    positive_sq = (queries - targets).pow(2).sum(-1, keepdim=True)  # (B, N, 1)
    centres = grid_keypoints(height, width, stride, dense.device)
    far = torch.cdist(target_keypoints, centres[None].expand(batch, -1, -1)) > radius
    logits = torch.cat([positive_sq, negative_sq], dim=2) / (-2.0 * temperature)
    allowed = torch.cat([torch.ones_like(far[..., :1]), far], dim=2)
    log_probability = torch.log_softmax(logits.masked_fill(~allowed, float("-inf")), dim=2)
    count = valid.sum().clamp(min=1)
    return (-log_probability[..., 0] * valid).sum() / count


def distinctiveness_targets(terms: dict[str, torch.Tensor], margin: float):
    """D2D targets ``1 / N ** 0.25`` (N = 1 + negatives closer than the margin) for both images.

    Returns:
        targets0 (B, N), targets1 (B, N), from detached distances.
    """
    distances = terms["distances"].detach()
    close = distances < margin
    count0 = (close & terms["negative_mask0"]).sum(dim=2)
    count1 = (close.transpose(1, 2) & terms["negative_mask1"]).sum(dim=2)
    return (1.0 + count0.float()) ** -0.25, (1.0 + count1.float()) ** -0.25


def distinctiveness_loss(
    scores0: torch.Tensor,
    scores1: torch.Tensor,
    targets0: torch.Tensor,
    targets1: torch.Tensor,
    valid: torch.Tensor,
) -> torch.Tensor:
    """Mean L1 between predicted scores (B, N) and targets (B, N) over valid points of both images."""
    count = valid.sum().clamp(min=1)
    error = (scores0 - targets0).abs() + (scores1 - targets1).abs()
    return (error * valid).sum() / (2 * count)


def step_distance_matrix(span: str, device=None) -> torch.Tensor:
    """(n, n) distances in steps between classes of ``span`` (circular when cyclic)."""
    spec = SPANS[span]
    classes = torch.arange(spec.n_classes, device=device)
    diff = (classes[:, None] - classes[None, :]).abs()
    if spec.cyclic:
        diff = torch.minimum(diff, spec.n_classes - diff)
    return diff.float()


def temporal_terms(
    logits: torch.Tensor, labels: torch.Tensor, span: str
) -> dict[str, torch.Tensor]:
    """Per-sample temporal errors of one span.

    Args:
        logits: (B, n_classes).
        labels: (B,) int64 class labels, -1 where unknown.
    Returns:
        ``mse`` (B,) expected squared step error, ``ce`` (B,) cross-entropy, ``valid`` (B,) bool,
        ``max_sq`` (scalar) largest squared step distance of the span.
    """
    n_classes = logits.shape[1]
    if n_classes != SPANS[span].n_classes:
        raise ValueError(
            f"{span}: logits have {n_classes} classes, expected {SPANS[span].n_classes}"
        )
    valid = labels >= 0
    safe = labels.clamp(min=0)
    squared = step_distance_matrix(span, logits.device) ** 2  # (n, n)
    probabilities = torch.softmax(logits, dim=1)
    mse = (probabilities * squared[safe]).sum(dim=1)
    ce = F.cross_entropy(logits, safe, reduction="none")
    return {"mse": mse, "ce": ce, "valid": valid, "max_sq": squared.max()}


def temporal_loss(
    time_logits: dict[str, torch.Tensor],
    labels: torch.Tensor,
    spans: list[str],
    span_weights: dict[str, float],
    ce_weight: float,
    mse_weight: float = 1.0,
):
    """Weighted sum over spans of normalised MSE and cross-entropy.

    Args:
        time_logits: span -> (B, n_classes).
        labels: (B, S) int64, column s for ``spans[s]``, -1 where unknown.
        span_weights: span -> weight (the curriculum sets these).
    Returns:
        (loss scalar, dict of per-span ``mse_<span>`` [steps^2] and ``ce_<span>`` scalars).
    """
    total = sum(logits.sum() * 0.0 for logits in time_logits.values())
    report = {}
    for column, span in enumerate(spans):
        terms = temporal_terms(time_logits[span], labels[:, column], span)
        count = terms["valid"].sum()
        if count == 0:
            continue
        mse = (terms["mse"] * terms["valid"]).sum() / count
        ce = (terms["ce"] * terms["valid"]).sum() / count
        weight = span_weights.get(span, 1.0)
        total = total + weight * (mse_weight * mse / terms["max_sq"] + ce_weight * ce)
        report[f"mse_{span}"] = mse.detach()
        report[f"ce_{span}"] = ce.detach()
    return total, report
