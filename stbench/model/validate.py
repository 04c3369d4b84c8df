"""Validation during training: matching precision and temporal accuracy on split ``val``.

- matching: per pair (centre crops), top-k keypoints by distinctiveness, mutual nearest
  neighbours; a match is verifiable when its first keypoint warps consistently (the
  :mod:`stbench.warp` definition) inside the other crop; ``val_crop_precision_3px`` = correct /
  verifiable, averaged over pairs with at least one verifiable match. The name is distinct from
  ``stbench evaluate``'s ``precision_3px`` on purpose: that one scores the method on full images
  (the inference sizes, the harness's keypoints and matches), so the two differ for the same
  weights and split (docs/reference-model.md, "Two precisions");
- time: per span, top-1 accuracy and the MSE of the argmax class in steps (circular).
"""

from __future__ import annotations

import numpy as np
import torch

from stbench.model.data import PairDataset, TemporalDataset
from stbench.model.matching import REFINE_RADIUS, match_outputs
from stbench.spans import SPANS

__all__ = ["pair_precision", "validate"]


def pair_precision(
    model,
    item: dict,
    dataset: PairDataset,
    top_k: int,
    threshold: float = 3.0,
    refine_radius: int = REFINE_RADIUS,
    temperature: float = 0.1,
):
    """(correct, verifiable, n_matches) of one validation pair, matched as at inference
    (:func:`stbench.model.matching.match_outputs`)."""
    from stbench.warp import warp_keypoints

    out = model(item["image0"][None], item["image1"][None], with_time=False)
    keypoints0, keypoints1, matches, _ = match_outputs(
        out, model.config.descriptor_stride, top_k, refine_radius, temperature
    )
    if len(matches) == 0:
        return 0, 0, 0
    pair = dataset.pairs.iloc[int(item["index"])]
    loaded = [dataset._load(pair[f"image_id{i}"], None) for i in (0, 1)]
    (_, depth0, camera0, crop0), (_, depth1, camera1, crop1) = loaded
    points0 = keypoints0[matches[:, 0]].cpu().numpy().astype(np.float64)
    points1 = keypoints1[matches[:, 1]].cpu().numpy().astype(np.float64)
    warped, _, consistent = warp_keypoints(
        crop0.to_original(points0), depth0, *camera0, depth1, *camera1
    )
    warped = crop1.to_crop(np.where(consistent[:, None], warped, 0.0))
    width, height = crop1.size
    inside = (warped[:, 0] >= -0.5) & (warped[:, 0] <= width - 0.5)
    inside &= (warped[:, 1] >= -0.5) & (warped[:, 1] <= height - 0.5)
    verifiable = consistent & inside
    error = np.linalg.norm(warped - points1, axis=1)
    correct = verifiable & (error <= threshold)
    return int(correct.sum()), int(verifiable.sum()), len(matches)


@torch.no_grad()
def validate(
    model,
    pairs: PairDataset | None,
    images: TemporalDataset | None,
    device: torch.device,
    top_k: int = 512,
    batch_size: int = 16,
    temperature: float = 0.1,
) -> dict[str, float]:
    """Validation metrics of ``model`` (switched to eval mode and back); matches are refined
    at ``temperature`` as at inference.

    Returns:
        ``val_crop_precision_3px``, ``n_matches`` (mean per pair), ``n_pairs``, and per span
        ``accuracy_<span>``, ``mse_<span>`` (steps^2; absent when no image has a trusted label
        for the span), ``n_<span>`` (labelled images), plus ``n_images``.
    """
    was_training = model.training
    model.eval()
    metrics: dict[str, float] = {}
    if pairs is not None:
        precisions, n_matches = [], []
        for index in range(len(pairs)):
            item = {k: v.to(device) for k, v in pairs[index].items()}
            correct, verifiable, count = pair_precision(
                model, item, pairs, top_k, temperature=temperature
            )
            n_matches.append(count)
            if verifiable:
                precisions.append(correct / verifiable)
        metrics["val_crop_precision_3px"] = float(np.mean(precisions)) if precisions else 0.0
        metrics["n_matches"] = float(np.mean(n_matches))
        metrics["n_pairs"] = float(len(pairs))
    if images is not None:
        spans = model.config.spans
        predicted = {span: [] for span in spans}
        for start in range(0, len(images), batch_size):
            batch = [images[i]["image"] for i in range(start, min(start + batch_size, len(images)))]
            logits = model.predict_time_logits(torch.stack(batch).to(device))
            for span in spans:
                predicted[span].append(logits[span].argmax(1).cpu().numpy())
        for column, span in enumerate(spans):
            labels = images.labels[:, column]
            known = labels >= 0
            metrics[f"n_{span}"] = float(known.sum())
            if not known.any():  # no trusted label for this span: no number rather than a 0
                continue
            guess = np.concatenate(predicted[span])[known]
            steps = SPANS[span].distance(guess, labels[known])
            metrics[f"accuracy_{span}"] = float(np.mean(guess == labels[known]))
            metrics[f"mse_{span}"] = float(np.mean(steps.astype(float) ** 2))
        metrics["n_images"] = float(len(images))
    model.train(was_training)
    return metrics
