"""Inference API used by the evaluation harness: :func:`load_matcher` and :class:`Matcher`.

Images are (H, W, 3) RGB uint8 numpy arrays of any size. For matching, each image is resized
(keeping its aspect up to rounding to a multiple of the network's coarsest stride) to the scale
it had in training (covering the training crop size); keypoints are returned in the original
image's pixels (centers at integers). For time, the image is resized to cover the temporal
training size and centre-cropped, as in training. Weights load with no network access.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stbench.errors import ConfigError, DataError
from stbench.model.fine import FineSettings, fine_settings, refine_ncc, search_pixels, to_gray
from stbench.model.matching import REFINE_RADIUS, check_match_ratio

__all__ = ["BUNDLED_WEIGHTS", "Matcher", "bundled_weights_path", "check_rgb_image", "load_matcher"]


BUNDLED_WEIGHTS = "reference.safetensors"


def bundled_weights_path() -> Path:
    """Path of the bundled ``reference`` weights inside the package (``stbench/weights/``)."""
    return Path(str(resources.files("stbench") / "weights" / BUNDLED_WEIGHTS))


def check_rgb_image(image: Any, name: str = "image") -> np.ndarray:
    """Return ``image`` as (H, W, 3) uint8, or raise ValueError saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy array (H, W, 3) uint8, got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{name} must be (H, W, 3) RGB uint8, got {image.shape} {image.dtype}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"{name} is too small ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


class Matcher:
    """The reference model behind the harness's method protocol.

    Attributes:
        model: the network (eval mode). meta: the weights' JSON metadata.
        top_k: keypoints per image. spans: the spans ``predict_time`` returns.
        fine: the full-resolution fine stage (:mod:`stbench.model.fine`), from the
            ``inference`` block (``fine: none`` when absent); replace it to override.
        match_ratio: the ratio test's threshold on the mutual nearest neighbours
            (:func:`stbench.model.matching.mutual_nearest_neighbours`), from
            ``inference.match_ratio`` (1, the test off, when absent); replace it to override.
    """

    def __init__(self, model, meta: dict[str, Any], device: str | torch.device = "cpu") -> None:
        self.model = model
        self.meta = meta
        self.device = torch.device(device)
        inference = meta.get("inference", {})
        self.image_size = tuple(inference.get("image_size", (160, 128)))
        self.temporal_size = tuple(inference.get("temporal_size", (128, 96)))
        self.top_k = int(inference.get("top_k", 1024))
        self.refine_radius = int(inference.get("refine_radius", REFINE_RADIUS))
        self.temperature = float(inference.get("temperature", 0.1))
        self.match_ratio = check_match_ratio(
            inference.get("match_ratio", 1.0), "the weights JSON's inference.match_ratio"
        )
        self.fine: FineSettings = fine_settings(inference)
        self.spans = list(model.config.spans)

    def _resize_for_matching(self, image: np.ndarray):
        import cv2

        height, width = image.shape[:2]
        multiple = self.model.config.input_multiple
        scale = max(self.image_size[0] / width, self.image_size[1] / height)
        new_w = max(multiple, round(width * scale / multiple) * multiple)
        new_h = max(multiple, round(height * scale / multiple) * multiple)
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        return resized, np.array([new_w / width, new_h / height])

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        from stbench.model.data import to_tensor

        return to_tensor(image)[None].to(self.device)

    @torch.no_grad()
    def match(self, image0: np.ndarray, image1: np.ndarray) -> dict[str, np.ndarray]:
        """Match two images.

        Args:
            image0, image1: (H, W, 3) RGB uint8.
        Returns:
            ``keypoints0`` (N, 2) float32, ``keypoints1`` (M, 2) float32 (pixels of the input
            images, centers at integers), ``matches`` (K, 2) int64 indices into them, ``scores``
            (K,) float32 distinctiveness-weighted cosine similarity. With the fine stage on, a
            matched keypoint of image 1 is at its full-resolution refined position.
        """
        from stbench.model.matching import match_outputs

        image0 = check_rgb_image(image0, "image0")
        image1 = check_rgb_image(image1, "image1")
        resized0, scale0 = self._resize_for_matching(image0)
        resized1, scale1 = self._resize_for_matching(image1)
        out = self.model(self._tensor(resized0), self._tensor(resized1), with_time=False)
        kpts0, kpts1, matches, scores = match_outputs(
            out,
            self.model.config.descriptor_stride,
            self.top_k,
            self.refine_radius,
            self.temperature,
            self.match_ratio,
        )
        keypoints0 = ((kpts0.cpu().numpy() + 0.5) / scale0 - 0.5).astype(np.float32)
        keypoints1 = ((kpts1.cpu().numpy() + 0.5) / scale1 - 0.5).astype(np.float32)
        matches = matches.cpu().numpy().astype(np.int64)
        if self.fine.active and len(matches):
            keypoints1 = self._refine(image0, image1, keypoints0, keypoints1, matches, scale1)
        return {
            "keypoints0": keypoints0,
            "keypoints1": keypoints1,
            "matches": matches,
            "scores": scores.cpu().numpy().astype(np.float32),
        }

    def _refine(self, image0, image1, keypoints0, keypoints1, matches, scale1) -> np.ndarray:
        """keypoints1 with each matched entry moved by the fine stage (mutual nearest
        neighbours match a keypoint of image 1 at most once, so each entry has one match)."""
        if len(np.unique(matches[:, 1])) != len(matches):
            raise RuntimeError("matches reuse a keypoint of image 1; the fine stage needs 1:1")
        refined, _ = refine_ncc(
            to_gray(image0),
            to_gray(image1),
            keypoints0[matches[:, 0]],
            keypoints1[matches[:, 1]],
            search_pixels(self.fine.search_cells, self.model.config.descriptor_stride, scale1),
            self.fine.patch,
            self.fine.min_score,
            self.fine.back_check,
        )
        keypoints1 = keypoints1.copy()
        keypoints1[matches[:, 1]] = refined
        return keypoints1

    @torch.no_grad()
    def predict_time(
        self, image: np.ndarray, latitude: float | None = None
    ) -> dict[str, np.ndarray]:
        """Per-span class probabilities of one image.

        Args:
            image: (H, W, 3) RGB uint8.
            latitude: where it was taken (degrees), if known. A model trained in seasonal
                phase (``hemisphere_phase``) shifts ``month`` and ``week`` by half a year for
                southern latitudes; without a latitude the image is taken as northern.
        Returns:
            span -> (n_classes,) float32 probabilities summing to 1 (spans of the model config).
        """
        from stbench.model.data import apply_crop, plan_crop
        from stbench.model.phase import to_calendar

        image = check_rgb_image(image)
        crop = plan_crop(image.shape[1], image.shape[0], self.temporal_size)
        logits = self.model.predict_time_logits(self._tensor(apply_crop(image, crop)))
        out = {}
        for span in self.spans:
            probabilities = torch.softmax(logits[span][0], 0).cpu().numpy().astype(np.float32)
            if self.model.config.hemisphere_phase:
                probabilities = to_calendar(probabilities, latitude, span)
            out[span] = probabilities
        return out

    @torch.no_grad()
    def decoder_features(self, image: np.ndarray) -> np.ndarray:
        """(D,) float32 pooled decoder features of one image, on the crop ``predict_time``
        uses: the decoder's share of the temporal head's input (for probes of what the
        matcher's features carry about time, e.g. :mod:`stbench.methods.featureprobe`)."""
        from stbench.model.data import apply_crop, plan_crop

        image = check_rgb_image(image)
        crop = plan_crop(image.shape[1], image.shape[0], self.temporal_size)
        pooled = self.model.decoder_features(self._tensor(apply_crop(image, crop)))
        return pooled[0].cpu().numpy().astype(np.float32)


def load_matcher(weights: str | Path | None = None, device: str = "cpu") -> Matcher:
    """Load the reference model for inference (no network access).

    Args:
        weights: a ``.safetensors`` file with its ``.json`` beside it, or a training output
            directory (``model.safetensors`` + ``model.json``); None = the bundled
            ``reference`` weights in ``stbench/weights/``.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
    Raises:
        DataError: the weights are missing or unreadable. ConfigError: they do not fit their
        config.
    """
    from stbench.model.checkpoint import load_weights

    if weights is None:
        weights = bundled_weights_path()
        if not weights.is_file():
            raise DataError(
                f"no bundled reference weights at {weights}; train them with "
                "`stbench train-baseline` and pass the output directory as weights"
            )
    model, meta = load_weights(Path(weights), device)
    try:
        return Matcher(model, meta, device)
    except ConfigError as exc:  # a bad inference setting: name the weights it came from
        raise ConfigError(f"reference weights {weights}: {exc}") from exc
