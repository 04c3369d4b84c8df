"""Index MegaDepth scenes into image, pair and reject records (``stbench index megadepth``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stbench.megadepth.columnrows import ColumnRows
from stbench.megadepth.config import MegaDepthConfig
from stbench.megadepth.covis import candidate_pairs
from stbench.megadepth.images import SOURCE, component_images
from stbench.megadepth.layout import Component, find_components, list_scenes
from stbench.megadepth.model import ComponentModel, read_component_model
from stbench.megadepth.pairs import (
    PAIR_KEYS,
    REJECT_KEYS,
    depth_verified_pairs,
    pairs_frame,
    read_depths,
)
from stbench.records import Records
from stbench.schema import make_image_id

# list_scenes: re-exported from stbench.megadepth.layout.
__all__ = ["index_component", "index_scene", "list_scenes", "make_records"]


def _reject_row(scene: str, item: str, stage: str, reason: str, detail: str) -> dict:
    return dict(source=SOURCE, scene=scene, item=item, stage=stage, reason=reason, detail=detail)


def _subset(model: ComponentModel, keep: np.ndarray) -> ComponentModel:
    return ComponentModel(
        names=[model.names[k] for k in keep],
        camera_models=[model.camera_models[k] for k in keep],
        width=model.width[keep],
        height=model.height[keep],
        K=model.K[keep],
        qvec=model.qvec[keep],
        tvec=model.tvec[keep],
        incidence=model.incidence[keep],
        points_xyz=model.points_xyz,
    )


def index_component(
    root: Path,
    component: Component,
    config: MegaDepthConfig,
    seen_ids: set[str],
    workers: int = 1,
) -> tuple[list[dict], ColumnRows, ColumnRows]:
    """Image rows, pair rows and reject rows (the latter two as columns) of one component."""
    scene = component.scene
    rejects: list[dict] = []
    model = read_component_model(component.model_dir, undistort=config.undistort)
    for r in model.rejects:
        item = r.item if r.reason.startswith("model_") else make_image_id(SOURCE, scene, r.item)
        rejects.append(_reject_row(scene, item, "index", r.reason, r.detail))
    if len(model) == 0:
        return [], ColumnRows(PAIR_KEYS), _table(rejects)
    location = config.scene_locations.get(scene)
    files = component_images(
        root,
        component,
        model,
        read_timestamps=config.timestamps,
        location=(float(location[0]), float(location[1])) if location else None,
        workers=workers,
    )
    for r in files.rejects:
        rejects.append(
            _reject_row(scene, make_image_id(SOURCE, scene, r.item), "index", r.reason, r.detail)
        )
    keep, rows, depth_files = [], [], []
    for k, row, depth_file in zip(files.keep, files.rows, files.depth_files, strict=True):
        if row["image_id"] in seen_ids:  # the same name registered in two components
            detail = f"also registered in an earlier component; dropped from dense{component.index}"
            rejects.append(
                _reject_row(scene, row["image_id"], "index", "duplicate_image_name", detail)
            )
            continue
        seen_ids.add(row["image_id"])
        keep.append(k)
        rows.append(row)
        depth_files.append(depth_file)
    if not rows:
        return [], ColumnRows(PAIR_KEYS), _table(rejects)
    sub = _subset(model, np.asarray(keep, dtype=np.int64))
    rotations = sub.rotations()

    def candidates_on(executor=None):
        return candidate_pairs(
            sub.incidence,
            sub.points_xyz,
            rotations,
            sub.tvec,
            focal=(sub.K[:, 0, 0] + sub.K[:, 1, 1]) / 2,
            min_shared_points=config.min_shared_points,
            min_covis_overlap=config.min_covis_overlap,
            max_scale_ratio=config.max_scale_ratio,
            workers=workers,
            executor=executor,
        )

    if workers > 1:
        # one thread reads the depth maps (mostly under the GIL) while the others, then all,
        # sum the candidates' shared points (compiled, without the GIL)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            reading = pool.submit(
                read_depths, rows, depth_files, sub.K, rotations, sub.tvec, config, 1
            )
            candidates = candidates_on(pool)
            depths = reading.result()
    else:
        candidates, depths = candidates_on(), None
    pairs, pair_rejects = depth_verified_pairs(
        scene, rows, depth_files, sub.K, rotations, sub.tvec, candidates, config, workers,
        depths=depths,
    )  # fmt: skip
    table = _table(rejects)
    table.extend(pair_rejects)
    return rows, pairs, table


def _without(values: list, prefix: str) -> list[str]:
    """``str(v).replace(prefix, "")`` of each value, as one replace over the joined text when
    no value holds the separator."""
    texts = [str(v) for v in values]
    joined = "\n".join(texts)
    if "\n" in prefix or joined.count("\n") != max(0, len(texts) - 1):  # one at a time
        return [text.replace(prefix, "") for text in texts]
    return joined.replace(prefix, "").split("\n") if texts else []


def _table(rejects: list[dict]) -> ColumnRows:
    table = ColumnRows(REJECT_KEYS)
    table.add_dicts(rejects)
    return table


def index_scene(
    root: str | Path, scene: str, config: MegaDepthConfig | None = None, workers: int = 1
) -> Records:
    """Index one scene: images, depth-verified spatial pairs and rejects (pure: no files written).

    Args:
        root: MegaDepth root (holding ``MegaDepth_v1`` and ``MegaDepth_v1_SfM``).
        scene: scene id, e.g. ``"0015"``.
        config: settings (defaults if None).
        workers: threads for the pair sums, reading depth maps and verifying pairs of this scene.
    Returns:
        Records whose images, pairs and rejects follow stbench.schema (subset of columns).
    """
    config = config or MegaDepthConfig()
    root = Path(root)
    components = find_components(root, scene)
    image_rows: list[dict] = []
    pair_rows = ColumnRows(PAIR_KEYS)
    reject_rows = ColumnRows(REJECT_KEYS)
    if not components:
        detail = f"no COLMAP model under {root}/MegaDepth_v1_SfM/{scene}/sparse/manhattan/<k>"
        reject_rows.add_dicts([_reject_row(scene, scene, "index", "model_missing", detail)])
    seen_ids: set[str] = set()
    for component in components:
        images, pairs, rejects = index_component(root, component, config, seen_ids, workers)
        image_rows += images
        pair_rows.extend(pairs)
        reject_rows.extend(rejects)
    # Items and details name files relative to the root: records (and manifests) do not depend
    # on where the data lies.
    prefix = f"{Path(root)}/"
    for key in ("item", "detail"):
        reject_rows.set_column(key, _without(reject_rows.column(key), prefix))
    return make_records(image_rows, pair_rows, reject_rows)


def make_records(
    image_rows: list[dict],
    pair_rows: list[dict] | ColumnRows,
    reject_rows: list[dict] | ColumnRows,
) -> Records:
    """Records from rows (dicts or columns), sorted by their ids (same input = same output)."""
    records = Records()
    if image_rows:
        images = pd.DataFrame(image_rows)
        records.images = images.sort_values("image_id", kind="stable").reset_index(drop=True)
    records.pairs = pairs_frame(pair_rows)
    if len(reject_rows):
        if isinstance(reject_rows, ColumnRows):
            rejects = reject_rows.frame()
        else:
            rejects = pd.DataFrame(reject_rows)
        records.rejects = rejects.sort_values(
            ["stage", "item", "reason"], kind="stable"
        ).reset_index(drop=True)
    return records
