"""A method returning the synthetic scenes' ground-truth matches (for the run tests).

Scenes are named ``ring<seed>``; the images of scene ``ringS`` are those of
``make_scene(N_IMAGES, seed=S)``. Scene ``ring9`` is broken: matching raises.
"""

from __future__ import annotations

import functools
from typing import Any

from stbench.methods.base import MatchResult, Method
from tests.sfm.synthetic import make_scene

N_IMAGES = 8
BROKEN_SCENE = "ring9"


@functools.lru_cache(maxsize=8)
def scene_of(name: str):
    """The synthetic scene behind scene ``name`` (image ids renamed into it)."""
    scene = make_scene(N_IMAGES, seed=int(name.removeprefix("ring")))
    rename = {row["image_id"]: row["image_id"].replace("ring", name) for row in scene.images}
    for row in scene.images:
        row["image_id"] = rename[row["image_id"]]
        row["scene"] = name
    scene.keypoints = {rename[k]: v for k, v in scene.keypoints.items()}
    scene.point_ids = {rename[k]: v for k, v in scene.point_ids.items()}
    return scene


class Oracle(Method):
    """Ground-truth matches (it runs in the harness's worker processes)."""

    name = "oracle"
    version = "1"
    track = "metadata"  # reads the image ids and scenes to know the true matches
    needs_images = False

    def match_pair(self, image0, image1, record0: dict[str, Any], record1: dict[str, Any]):
        """The true matches of the two images' scene."""
        if record0["scene"] == BROKEN_SCENE:
            raise RuntimeError("this scene breaks the method")
        scene = scene_of(record0["scene"])
        name0, name1 = record0["image_id"], record1["image_id"]
        matches = scene.matches(name0, name1)
        return MatchResult(
            scene.keypoints[name0], scene.keypoints[name1], matches, 1.0 + 0 * matches[:, 0]
        )
