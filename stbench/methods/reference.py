"""The bundled reference model (``stbench.model``) as an evaluation method."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.errors import ConfigError
from stbench.methods.base import MatchResult, Method, file_digest

__all__ = ["Reference", "weights_file"]


def weights_file(weights: str | None) -> Path:
    """The ``.safetensors`` file of a ``weights`` option (None: the bundled weights; a folder:
    its ``model.safetensors``)."""
    if weights is None:
        from importlib import resources

        return Path(str(resources.files("stbench") / "weights" / "reference.safetensors"))
    path = Path(weights)
    return path / "model.safetensors" if path.is_dir() else path


class Reference(Method):
    """Wraps ``stbench.model.load_matcher(weights, device)``: matching and time prediction.

    Options: ``weights`` (a .safetensors path; default: the bundled weights), ``device``,
    ``use_latitude``, the fine stage's ``fine`` (``none`` or ``ncc``), ``fine_patch``,
    ``fine_min_score``, ``fine_search`` and ``fine_back_check`` (default: the weights JSON's
    ``inference`` block; see :mod:`stbench.model.fine`), and ``match_ratio``, the ratio test on
    the mutual nearest neighbours (in (0, 1], 1 off; default: the JSON's
    ``inference.match_ratio``, else 1). By default the method is on the ``pixels`` track and
    sees no latitude: ``month`` and ``week`` are then read as in the northern hemisphere (no
    half-year shift).
    ``use_latitude=true`` gives it the record's latitude to shift them for southern cameras,
    which puts it on the ``metadata`` track.
    """

    name = "reference"

    def __init__(
        self,
        weights: str | None = None,
        device: str = "cpu",
        use_latitude: bool = False,
        fine: str | None = None,
        fine_patch: int | None = None,
        fine_min_score: float | None = None,
        fine_search: float | None = None,
        fine_back_check: float | None = None,
        match_ratio: float | None = None,
    ) -> None:
        if not isinstance(use_latitude, bool):
            raise ConfigError(
                f"reference: use_latitude must be true or false, not {use_latitude!r}"
            )
        self.use_latitude = use_latitude
        self.track = "metadata" if use_latitude else "pixels"
        try:
            from stbench.model import load_matcher
        except ImportError as exc:
            raise ConfigError(
                "the 'reference' method needs stbench.model (the reference model), which is "
                f"not available in this installation: {exc}"
            ) from exc
        self.weights = weights
        self.device = device
        from stbench.model.fine import fine_settings

        self.matcher = load_matcher(Path(weights) if weights else None, device=device)
        meta = getattr(self.matcher, "meta", None) or {}
        overrides = {
            "fine": fine,
            "fine_patch": fine_patch,
            "fine_min_score": fine_min_score,
            "fine_search": fine_search,
            "fine_back_check": fine_back_check,
        }
        self.matcher.fine = fine_settings(
            meta.get("inference", {}), overrides, f"reference weights {weights_file(weights)}"
        )
        if match_ratio is not None:
            from stbench.model.matching import check_match_ratio

            self.matcher.match_ratio = check_match_ratio(match_ratio, "reference: match_ratio")
        self._weights_digest = file_digest(weights_file(weights))
        # the version names the weights themselves: a retrained model never passes for the
        # bundled one (on the board, in caches and reports)
        self.version = (self._weights_digest or "unknown")[:12]
        self._meta_digest = hashlib.sha256(
            json.dumps(meta, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]

    def config(self) -> dict[str, Any]:
        """Weights path (None = bundled), version and digests of the weights and their
        metadata (retrained weights invalidate cached predictions); the device does not. The
        fine stage's resolved settings appear when it is on (a coarse run keeps the identity
        it had before the fine stage existed, and never shares a cache with a fine one), and
        the ratio test's threshold when it is on."""
        config = {
            "weights": self.weights,
            "model_version": self.version,
            "weights_sha256_16": self._weights_digest,
            "meta_sha256_16": self._meta_digest,
            "use_latitude": self.use_latitude,
        }
        if self.matcher.fine.active:
            config["fine"] = self.matcher.fine.as_dict()
        if self.matcher.match_ratio < 1:
            config["match_ratio"] = self.matcher.match_ratio
        return config

    def match(self, image0: np.ndarray, image1: np.ndarray) -> MatchResult:
        """Match with the co-attention matcher."""
        return MatchResult.from_any(self.matcher.match(image0, image1))

    def predict_time(self, image: np.ndarray, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """Per-span class probabilities from the temporal head. With ``use_latitude`` the
        record's latitude decides the hemisphere of ``month`` and ``week``; without it (the
        pixels track, whose records hold no latitude) every image is taken as northern."""
        if not self.use_latitude:
            return self.matcher.predict_time(image, latitude=None)
        latitude = record.get("lat")
        latitude = None if latitude is None or pd.isna(latitude) else float(latitude)
        return self.matcher.predict_time(image, latitude=latitude)
