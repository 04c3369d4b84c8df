"""The one home of defaults shared by several configs and functions.

Configs (:class:`stbench.evaluate.config.EvaluateConfig`, :class:`stbench.megadepth.MegaDepthConfig`,
:class:`stbench.sfm.config.SfmConfig`) and the functions they feed take their defaults from here,
so a default changes in one place.
"""

from __future__ import annotations

__all__ = [
    "DEPTH_TAU",
    "ITEM_TIMEOUT_S",
    "N_BOOTSTRAP",
    "POSE_CONFIDENCE",
    "POSE_THRESHOLD_PX",
    "TRUST_THRESHOLD",
]

#: Relative depth tolerance |z_projected - depth| / depth of a consistent (verifiable) match.
DEPTH_TAU = 0.05
#: RANSAC threshold of the essential-matrix pose, pixels divided by the mean focal (LoFTR).
POSE_THRESHOLD_PX = 0.5
#: RANSAC confidence of the essential-matrix pose (LoFTR).
POSE_CONFIDENCE = 0.99999
#: Bootstrap replicates of the 95 % intervals (and permutations of the paired tests).
N_BOOTSTRAP = 1000
#: Seconds a method may take on one pair or image before its worker is killed (``--item-timeout``).
ITEM_TIMEOUT_S = 120.0
#: An image is *trusted* when its timestamp_trust is at least this (and its timestamp is set).
TRUST_THRESHOLD = 0.5
