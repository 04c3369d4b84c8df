"""Stream checks that need no sun: stale (frozen) frames, duplicates, out-of-order times.

Frames are compared with their predecessor in recorded-time order. Byte-identical or
near-identical pictures are the same picture served again: ``duplicate`` when stored again within
half the camera's usual interval, else ``frozen`` (a stalled camera). Near-identical means: the
1/8-decode thumbnails are close, the full grey decodes differ (mean absolute) by less than
``frozen_max_change`` times their fine detail (image minus its 3x3 box blur: noise and texture),
*and* that fine detail correlates by at least ``frozen_min_detail_corr``. A re-encode keeps the
noise pattern and texture of its source and changes it only by requantisation (change/detail
<= 0.09 on the synthetic town); two exposures of a static scene differ at least by their noise
(>= 0.2), and those of a dark, featureless night have uncorrelated detail (~0.05).
"""

from __future__ import annotations

import numpy as np

from stbench.webcams.config import WebcamConfig

__all__ = ["same_picture", "stream_flags"]


#: Thumbnails (1/8 decode) further apart than this (mean abs grey) are different pictures.
_THUMB_LOOSE = 3.0


def _full_grey(data: bytes) -> np.ndarray | None:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    return None if image is None else image.astype(np.float32)


def same_picture(
    digests: tuple[bytes, bytes],
    thumbs: tuple[np.ndarray, np.ndarray],
    payloads,
    config: WebcamConfig,
) -> bool:
    """Whether two frames show the same picture (identical bytes or a near-identical re-encode).

    ``payloads`` (the encoded bytes) is a zero-argument callable, called only when the
    thumbnails are close.
    """
    if digests[0] == digests[1]:
        return True
    if float(np.abs(thumbs[0] - thumbs[1]).mean()) > _THUMB_LOOSE:
        return False
    data_a, data_b = payloads()
    full_a, full_b = _full_grey(data_a), _full_grey(data_b)
    if full_a is None or full_b is None or full_a.shape != full_b.shape:
        return False
    detail_a = full_a - _box3(full_a)
    detail_b = full_b - _box3(full_b)
    detail = float(np.abs(detail_a).mean() + np.abs(detail_b).mean())
    change = float(np.abs(full_a - full_b).mean())
    if change > config.frozen_max_change * max(detail, 1e-6):
        return False
    return _correlation(detail_a, detail_b) >= config.frozen_min_detail_corr


def _box3(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.blur(image, (3, 3))


def _correlation(detail_a: np.ndarray, detail_b: np.ndarray) -> float:
    """Correlation of two (H, W) fine-detail images (image minus its 3x3 box blur)."""
    norm = float(np.sqrt((detail_a * detail_a).sum() * (detail_b * detail_b).sum()))
    return float((detail_a * detail_b).sum()) / norm if norm > 0 else 1.0


def stream_flags(
    times_s: np.ndarray,
    order: np.ndarray,
    digests: list[bytes],
    payload,
    thumbs: list[np.ndarray],
    config: WebcamConfig,
) -> list[list[str]]:
    """Flags per frame from comparisons along the stream.

    Args:
        times_s: (N,) recorded times (s since epoch), NaN where unresolved; frames in time order
            (NaN last).
        order: (N,) archive position of each frame (to find times that go backwards).
        digests: per-frame content hashes.
        payload: callable i -> encoded bytes of frame i (read again only for close pairs).
        thumbs: per-frame (s, s) float32 thumbnails.
        config: thresholds.
    Returns:
        N lists of flags among ``frozen``, ``duplicate``, ``duplicate_content``,
        ``duplicate_time``, ``non_monotonic``.
    """
    n = len(times_s)
    flags: list[list[str]] = [[] for _ in range(n)]
    timed = np.isfinite(times_s)
    gaps = np.diff(times_s[timed])
    interval = float(np.median(gaps[gaps > 0])) if np.any(gaps > 0) else 0.0
    seen: dict[bytes, int] = {}
    for i in range(n):
        if not timed[i]:
            continue
        if i > 0 and timed[i - 1]:
            if times_s[i] == times_s[i - 1]:
                flags[i].append("duplicate_time")
            pair = (digests[i - 1], digests[i]), (thumbs[i - 1], thumbs[i])
            if same_picture(*pair, lambda i=i: (payload(i - 1), payload(i)), config):
                stale = "frozen" in flags[i - 1]
                short = times_s[i] - times_s[i - 1] < 0.5 * interval
                flags[i].append("duplicate" if short and not stale else "frozen")
        if digests[i] in seen and seen[digests[i]] != i - 1 and not flags[i]:
            flags[i].append("duplicate_content")
        seen.setdefault(digests[i], i)
    # archive order: a time earlier than one stored before it went backwards
    by_archive = np.argsort(order, kind="stable")
    latest = -np.inf
    for i in by_archive:
        if not timed[i]:
            continue
        if times_s[i] < latest:
            flags[i].append("non_monotonic")
        latest = max(latest, times_s[i])
    return flags
