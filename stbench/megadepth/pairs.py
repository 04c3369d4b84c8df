"""Depth-verified pairs of one component: depth loading, candidates, verification, rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.errors import DataError
from stbench.megadepth.columnrows import ColumnRows
from stbench.megadepth.config import MegaDepthConfig
from stbench.megadepth.covis import CandidatePairs
from stbench.megadepth.depthcache import DepthCache, build_depth_cache
from stbench.megadepth.verify import count_consistent, projection_matrices
from stbench.schema import PAIR_ID_SEPARATOR

__all__ = [
    "PAIR_KEYS",
    "REJECT_KEYS",
    "DepthLoad",
    "VerifiedPairs",
    "depth_verified_pairs",
    "load_depth_cache",
    "pairs_frame",
    "read_depths",
    "verify_candidates",
]


@dataclass
class DepthLoad:
    """Depth maps of a component's images, checked one at a time while the cache is built.

    ``problems[n] = (reason, detail)`` for images whose depth cannot be used; ``kinds[n]`` is
    ``metric``, ``ordinal`` or None (no readable map).
    """

    files: list[Path | None]
    sizes: list[tuple[int, int]]  # (width, height) of each image
    invalid_depth: str = "reject"
    problems: dict[int, tuple[str, str]] = field(default_factory=dict)
    kinds: dict[int, str | None] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> np.ndarray | None:
        from stbench.depth import read_depth

        path = self.files[index]
        self.kinds[index] = None
        if path is None:
            self.problems[index] = ("depth_missing", "no depth map for this image")
            return None
        try:
            depth_map = read_depth(path)
        except DataError as exc:
            self.problems[index] = ("depth_unreadable", str(exc))
            return None
        except Exception as exc:  # one odd file (h5py, numpy errors) must not lose the scene
            detail = f"depth file {path}: {type(exc).__name__}: {exc}"
            self.problems[index] = ("depth_unreadable", detail)
            return None
        self.kinds[index] = depth_map.kind
        width, height = self.sizes[index]
        if depth_map.depth.shape != (height, width):
            detail = f"{path}: depth is {depth_map.depth.shape[::-1]}, image is {(width, height)}"
            self.problems[index] = ("depth_size_mismatch", detail)
            return None
        if depth_map.kind == "ordinal":
            detail = f"{path} holds ordinal labels, not metric depth"
            self.problems[index] = ("depth_ordinal", detail)
            return None
        if depth_map.n_invalid_values and self.invalid_depth == "reject":
            detail = (
                f"{path} has {depth_map.n_invalid_values} NaN/inf values "
                "(invalid_depth='mask' would use the rest)"
            )
            self.problems[index] = ("depth_invalid_values", detail)
            return None
        if not np.any(depth_map.depth > 0):
            self.problems[index] = ("depth_no_valid_pixels", f"{path} has no valid depth")
            return None
        return depth_map.depth


#: Keys of pair rows and of reject rows, in column order.
PAIR_KEYS = (
    "pair_id", "image_id0", "image_id1", "scene", "kind", "covis_overlap_01", "covis_overlap_10",
    "depth_overlap_01", "depth_overlap_10", "n_consistent", "scale_ratio", "view_angle_deg",
)  # fmt: skip
REJECT_KEYS = ("source", "scene", "item", "stage", "reason", "detail")


@dataclass
class VerifiedPairs:
    """Outcome of verifying candidates: pair rows and reject rows, held as columns."""

    pair_table: ColumnRows
    reject_table: ColumnRows

    @property
    def rows(self) -> list[dict]:
        """The pair rows as dicts."""
        return self.pair_table.dicts()

    @property
    def rejects(self) -> list[dict]:
        """The reject rows as dicts."""
        return self.reject_table.dicts()


def load_depth_cache(
    load: DepthLoad,
    names: list[str],
    K,
    rotations,
    translations,
    config: MegaDepthConfig,
    workers: int = 1,
) -> DepthCache:
    """Read every depth map once and keep it at the working resolution (``workers`` threads)."""
    cache = build_depth_cache(
        load,
        names,
        K,
        rotations,
        translations,
        working_max_side=config.working_max_side,
        samples_per_direction=config.samples_per_direction,
        seed=config.seed,
        sizes=load.sizes,
        workers=workers,
    )
    for index, problem in load.problems.items():
        cache.problems[index] = problem
    for index in range(len(names)):
        if cache.usable[index] or index in cache.problems:
            continue
        cache.problems[index] = ("depth_no_valid_pixels", "no pixel with 4 valid neighbours")
    return cache


def verify_candidates(
    candidates: CandidatePairs,
    image_ids: list[str],
    scene: str,
    cache: DepthCache,
    rotations: np.ndarray,
    translations: np.ndarray,
    config: MegaDepthConfig,
    workers: int = 1,
) -> VerifiedPairs:
    """Depth-check candidates in both directions and split them into pairs and rejects."""
    i, j = candidates.index0, candidates.index1
    both_usable = cache.usable[i] & cache.usable[j]
    # Canonical order image_id0 < image_id1 of pair ids (string order through each id's rank:
    # the ids of a component are distinct).
    ids = np.asarray(image_ids, dtype=object)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[sorted(range(len(ids)), key=image_ids.__getitem__)] = np.arange(len(ids))
    rejects = ColumnRows(REJECT_KEYS)
    unusable = np.flatnonzero(~both_usable)
    if len(unusable):  # the images without usable depth of each pair, first then second
        a, b = i[unusable], j[unusable]
        swap = rank[a] > rank[b]
        texts = [
            f"{image_id}: {cache.problems.get(n, ('?', ''))[0]}"
            for n, image_id in enumerate(image_ids)
        ]
        details = [
            texts[y] if usable_x else (texts[x] if usable_y else f"{texts[x]}; {texts[y]}")
            for x, y, usable_x, usable_y in zip(
                a.tolist(), b.tolist(), cache.usable[a].tolist(), cache.usable[b].tolist(),
                strict=True,
            )
        ]  # fmt: skip
        pair_ids = _pair_ids(ids, np.where(swap, b, a), np.where(swap, a, b))
        rejects.add_columns(_reject_columns(scene, pair_ids, "depth_unavailable", details))
    checked = np.flatnonzero(both_usable)
    projections = projection_matrices(cache.K, rotations, translations)
    c01, c10, overlap01, overlap10 = _two_way_overlaps(
        cache, projections, i[checked], j[checked],
        candidates.covis_overlap_01[checked] <= candidates.covis_overlap_10[checked],
        config, workers,
    )  # fmt: skip
    total = c01 + c10
    accepted = (np.minimum(overlap01, overlap10) >= config.min_depth_overlap) & (
        total >= config.min_consistent
    )
    a, b = i[checked], j[checked]
    swap = rank[a] > rank[b]
    first, second = np.where(swap, b, a), np.where(swap, a, b)
    covis01 = candidates.covis_overlap_01[checked]
    covis10 = candidates.covis_overlap_10[checked]
    columns = dict(
        covis_overlap_01=np.where(swap, covis10, covis01),
        covis_overlap_10=np.where(swap, covis01, covis10),
        depth_overlap_01=np.where(swap, overlap10, overlap01),
        depth_overlap_10=np.where(swap, overlap01, overlap10),
    )
    pair_ids = _pair_ids(ids, first, second)
    low = np.flatnonzero(~accepted)
    if len(low):
        rejects.add_columns(_reject_columns(
            scene, [pair_ids[k] for k in low.tolist()], "depth_overlap_low",
            _overlap_details(
                columns["depth_overlap_01"][low], columns["depth_overlap_10"][low], total[low],
                config,
            ),
        ))  # fmt: skip
    take = np.flatnonzero(accepted)
    rows = ColumnRows(PAIR_KEYS)
    if len(take):
        rows.add_columns(
            dict(
                pair_id=[pair_ids[k] for k in take.tolist()],
                image_id0=ids[first[take]].tolist(),
                image_id1=ids[second[take]].tolist(),
                scene=[scene] * len(take),
                kind=["spatial"] * len(take),
                **{key: column[take] for key, column in columns.items()},
                n_consistent=total[take],
                scale_ratio=candidates.scale_ratio[checked[take]],
                view_angle_deg=candidates.view_angle_deg[checked[take]],
            )
        )
    return VerifiedPairs(rows, rejects)


def _pair_ids(ids: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[str]:
    """``image_id0|image_id1`` of each pair (ids indexed by ``first``, ``second``)."""
    return [
        f"{x}{PAIR_ID_SEPARATOR}{y}"
        for x, y in zip(ids[first].tolist(), ids[second].tolist(), strict=True)
    ]


def _overlap_details(
    overlap01: np.ndarray, overlap10: np.ndarray, total: np.ndarray, config: MegaDepthConfig
) -> list[str]:
    """The detail of each ``depth_overlap_low`` reject: both overlaps (3 decimals, or "not
    computed"), the consistent count (``>=`` when a direction was not computed), the thresholds.

    Each distinct overlap is formatted once (overlaps are counts over ~1,024 samples: few
    distinct values).
    """
    tail = (
        f" (need min overlap >= {config.min_depth_overlap} and "
        f"n_consistent >= {config.min_consistent})"
    )
    values = np.concatenate([overlap01, overlap10])
    unique, where = np.unique(values, return_inverse=True)  # NaNs sort last
    text = ["not computed" if np.isnan(v) else f"{v:.3f}" for v in unique.tolist()]
    n = len(overlap01)
    where = where.reshape(-1).tolist()
    missing = (np.isnan(overlap01) | np.isnan(overlap10)).tolist()
    return [
        f"depth_overlap_01={text[w01]} depth_overlap_10={text[w10]} "
        f"n_consistent{'>=' if miss else '='}{count}{tail}"
        for w01, w10, miss, count in zip(where[:n], where[n:], missing, total.tolist(), strict=True)
    ]


def _reject_columns(scene: str, items: list[str], reason: str, details: list[str]) -> dict:
    """Reject rows (``verify`` stage) of ``items`` as columns."""
    n = len(items)
    return dict(
        source=["megadepth"] * n,
        scene=[scene] * n,
        item=items,
        stage=["verify"] * n,
        reason=[reason] * n,
        detail=details,
    )


def _two_way_overlaps(
    cache: DepthCache,
    projections: np.ndarray,
    index0: np.ndarray,
    index1: np.ndarray,
    first_01: np.ndarray,
    config: MegaDepthConfig,
    workers: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consistent counts and depth overlaps of pairs in both directions, checked progressively.

    Each pair is first checked in one direction (0 -> 1 where ``first_01``, the direction with
    the lower co-visibility overlap, which fails more often); the other direction is checked only
    for pairs whose first overlap reaches ``min_depth_overlap``. The decision is exact (a pair
    needs both overlaps >= the threshold), so accepted pairs and their values are unchanged; a
    pair rejected on its first direction has the other overlap NaN ("not computed").
    Returns c01, c10 (int64), overlap01, overlap10 (float64), all (M,).
    """
    m = len(index0)
    first_src = np.where(first_01, index0, index1)
    first_dst = np.where(first_01, index1, index0)
    c_first, s_first = count_consistent(
        cache, projections, first_src, first_dst, config.tau, workers
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        o_first = np.where(s_first > 0, c_first / np.maximum(s_first, 1), 0.0)
    alive = np.flatnonzero(o_first >= config.min_depth_overlap)
    c_second = np.zeros(m, dtype=np.int64)
    o_second = np.full(m, np.nan)
    c_alive, s_alive = count_consistent(
        cache, projections, first_dst[alive], first_src[alive], config.tau, workers
    )
    c_second[alive] = c_alive
    o_second[alive] = np.where(s_alive > 0, c_alive / np.maximum(s_alive, 1), 0.0)
    c01 = np.where(first_01, c_first, c_second)
    c10 = np.where(first_01, c_second, c_first)
    overlap01 = np.where(first_01, o_first, o_second)
    overlap10 = np.where(first_01, o_second, o_first)
    return c01, c10, overlap01, overlap10


def read_depths(
    rows: list[dict],
    depth_files: list[Path | None],
    K: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    config: MegaDepthConfig,
    workers: int = 1,
) -> tuple[DepthLoad, DepthCache]:
    """Read the depth maps of ``rows`` once into the cache the verification uses.

    Args:
        rows: image rows (with image_id, width, height).
        depth_files: absolute depth path per image (None: no depth map).
        K, rotations, translations: (N, 3, 3), (N, 3, 3), (N, 3) full-resolution cameras.
    Returns:
        the load (each map's kind and problems) and the cache.
    """
    load = DepthLoad(
        files=depth_files,
        sizes=[(int(row["width"]), int(row["height"])) for row in rows],
        invalid_depth=config.invalid_depth,
    )
    names = [row["image_id"] for row in rows]
    return load, load_depth_cache(load, names, K, rotations, translations, config, workers)


def depth_verified_pairs(
    scene: str,
    rows: list[dict],
    depth_files: list[Path | None],
    K: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    candidates: CandidatePairs,
    config: MegaDepthConfig,
    workers: int = 1,
    depths: tuple[DepthLoad, DepthCache] | None = None,
) -> tuple[ColumnRows, ColumnRows]:
    """Load the depth maps of ``rows`` (filling their ``depth_kind``) and verify candidates.

    Args:
        rows: image rows (with image_id, width, height) of the images the candidates index.
        depth_files: absolute depth path per image (None: no depth map).
        K, rotations, translations: (N, 3, 3), (N, 3, 3), (N, 3) full-resolution cameras.
        depths: what :func:`read_depths` returned for these rows, when already read.
    Returns:
        pair rows and reject rows (depth problems of images, rejected pairs), as columns.
    """
    names = [row["image_id"] for row in rows]
    if depths is None:
        depths = read_depths(rows, depth_files, K, rotations, translations, config, workers)
    load, cache = depths
    rejects = []
    for index, row in enumerate(rows):
        row["depth_kind"] = load.kinds.get(index)
        if index in cache.problems:
            reason, detail = cache.problems[index]
            rejects.append(_reject(scene, names[index], reason, detail))
    verified = verify_candidates(
        candidates, names, scene, cache, rotations, translations, config, workers=workers
    )
    table = ColumnRows(REJECT_KEYS)
    table.add_dicts(rejects)
    table.extend(verified.reject_table)
    return verified.pair_table, table


def _reject(scene: str, item: str, reason: str, detail: str) -> dict:
    return dict(
        source="megadepth", scene=scene, item=item, stage="verify", reason=reason, detail=detail
    )


def pairs_frame(rows: list[dict] | ColumnRows) -> pd.DataFrame:
    """Pair rows as a DataFrame sorted by pair_id (deterministic output)."""
    from stbench.records import Records

    if not len(rows):
        return Records().pairs
    frame = rows.frame() if isinstance(rows, ColumnRows) else pd.DataFrame(rows)
    return frame.sort_values("pair_id", kind="stable").reset_index(drop=True)
