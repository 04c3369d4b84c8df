"""Classical detector + descriptor matchers from OpenCV: SIFT and ORB."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stbench.config import check_fields
from stbench.methods.base import MatchResult, Method

__all__ = ["Orb", "OrbConfig", "Sift", "SiftConfig", "ratio_test"]


@dataclass
class SiftConfig:
    """SIFT settings: up to ``max_keypoints`` keypoints, Lowe's ratio test, optional mutual check."""

    max_keypoints: int = field(default=2048, metadata={"min": 1})
    ratio: float = field(default=0.8, metadata={"min": 0.0, "max": 1.0})
    mutual: bool = True

    def __post_init__(self) -> None:
        check_fields(self)


class Sift(Method):
    """OpenCV SIFT with Lowe's ratio test (and a mutual nearest-neighbour check by default)."""

    name = "sift"
    version = "1"

    def __init__(self, **options: Any) -> None:
        from stbench.config import config_from_dict

        self.settings = config_from_dict(SiftConfig, options, where="sift options")

    def config(self) -> dict[str, Any]:
        """The resolved settings."""
        return asdict(self.settings)

    def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        sift = cv2.SIFT_create(nfeatures=self.settings.max_keypoints)
        keypoints, descriptors = sift.detectAndCompute(gray, None)
        points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
        return points, descriptors

    def match(self, image0: np.ndarray, image1: np.ndarray) -> MatchResult:
        """Detect, describe and ratio-test match two RGB images."""
        points0, desc0 = self._detect(image0)
        points1, desc1 = self._detect(image1)
        matches, scores = ratio_test(desc0, desc1, self.settings.ratio, self.settings.mutual)
        return MatchResult(points0, points1, matches, scores)


def ratio_test(
    desc0: np.ndarray | None, desc1: np.ndarray | None, ratio: float, mutual: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test on L2 descriptor distances.

    Returns:
        matches (K, 2) int64 and scores (K,) float32 (1 - distance ratio).
    """
    import cv2

    empty = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    if desc0 is None or desc1 is None or len(desc0) < 1 or len(desc1) < 2:
        return empty
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    knn = matcher.knnMatch(desc0, desc1, k=2)
    rows = [(m.queryIdx, m.trainIdx, m.distance / max(n.distance, 1e-12)) for m, n in knn]
    if not rows:
        return empty
    array = np.array(rows, dtype=np.float64)
    keep = array[:, 2] < ratio
    if mutual:
        reverse = matcher.match(desc1, desc0)
        back = np.full(len(desc1), -1, np.int64)
        for m in reverse:
            back[m.queryIdx] = m.trainIdx
        keep &= back[array[:, 1].astype(np.int64)] == array[:, 0].astype(np.int64)
    array = array[keep]
    return array[:, :2].astype(np.int64), (1 - array[:, 2]).astype(np.float32)


@dataclass
class OrbConfig:
    """ORB settings: up to ``max_keypoints`` keypoints, Hamming mutual nearest neighbours."""

    max_keypoints: int = field(default=2048, metadata={"min": 1})

    def __post_init__(self) -> None:
        check_fields(self)


class Orb(Method):
    """OpenCV ORB with mutual nearest-neighbour Hamming matching."""

    name = "orb"
    version = "1"

    def __init__(self, **options: Any) -> None:
        from stbench.config import config_from_dict

        self.settings = config_from_dict(OrbConfig, options, where="orb options")

    def config(self) -> dict[str, Any]:
        """The resolved settings."""
        return asdict(self.settings)

    def match(self, image0: np.ndarray, image1: np.ndarray) -> MatchResult:
        """Detect, describe and cross-check match two RGB images."""
        import cv2

        orb = cv2.ORB_create(nfeatures=self.settings.max_keypoints)
        found = []
        for image in (image0, image1):
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
            keypoints, descriptors = orb.detectAndCompute(gray, None)
            points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
            found.append((points, descriptors))
        (points0, desc0), (points1, desc1) = found
        if desc0 is None or desc1 is None:
            return MatchResult(
                points0, points1, np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
            )
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(desc0, desc1)
        matches = np.array([[m.queryIdx, m.trainIdx] for m in pairs], np.int64).reshape(-1, 2)
        scores = np.array([1.0 - m.distance / 256.0 for m in pairs], np.float32)
        return MatchResult(points0, points1, matches, scores)
