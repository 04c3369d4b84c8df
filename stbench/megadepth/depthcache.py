"""Depth maps of a component, read once, kept at a working resolution, and their samples.

A map of size (H, W) is subsampled by the integer stride s = ceil(max(H, W) / working_max_side):
working pixel (u, v) is full-resolution pixel (s u, s v), so with pixel centers at integers the
working intrinsics are exactly K with fx, fy, cx, cy divided by s. Invalid depth (0, NaN, inf,
negative) becomes NaN, and each map gets a one-pixel NaN border so that bilinear lookups need no
bounds checks: any lookup touching an invalid or outside pixel yields NaN.

All maps live in one flat float32 array (about 4 bytes x working pixels x images per component;
at the default 512 px, ~0.8 MB per image).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from stbench.megadepth.compiled import compiled

__all__ = ["DepthCache", "build_depth_cache", "image_seed", "stratified_samples", "working_stride"]


@dataclass
class DepthCache:
    """Working-resolution depth maps and per-image samples of a component.

    Attributes:
        flat: float32 concatenation of the NaN-padded working maps.
        base: (N,) index in ``flat`` of working pixel (0, 0) of each image.
        stride: (N,) row stride in ``flat`` (working width + 2).
        width, height: (N,) working sizes (0 for images without usable depth).
        scale: (N,) integer subsampling stride s.
        K: (N, 3, 3) working intrinsics.
        usable: (N,) bool, the image has a usable metric depth map.
        sample_offsets: (N + 1,) rows of ``samples_world`` belonging to image n.
        samples_pixel: (S, 2) float64 working pixel coordinates of the samples.
        samples_world: (S, 4) float64 homogeneous world points of the samples.
    """

    flat: np.ndarray
    base: np.ndarray
    stride: np.ndarray
    width: np.ndarray
    height: np.ndarray
    scale: np.ndarray
    K: np.ndarray
    usable: np.ndarray
    sample_offsets: np.ndarray
    samples_pixel: np.ndarray
    samples_world: np.ndarray
    problems: dict[int, tuple[str, str]] = field(default_factory=dict)

    def working_depth(self, index: int) -> np.ndarray:
        """(h, w) working depth map of image ``index`` with 0 where invalid (a copy)."""
        h, w, stride = int(self.height[index]), int(self.width[index]), int(self.stride[index])
        start = int(self.base[index])
        block = self.flat[start : start + h * stride].reshape(h, stride)[:, :w]
        return np.nan_to_num(block, nan=0.0)

    def samples(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Working-pixel (n, 2) and homogeneous world (n, 4) samples of image ``index``."""
        lo, hi = self.sample_offsets[index], self.sample_offsets[index + 1]
        return self.samples_pixel[lo:hi], self.samples_world[lo:hi]


def working_stride(width: int, height: int, working_max_side: int) -> int:
    """Integer subsampling stride bringing max(width, height) to at most working_max_side."""
    if working_max_side <= 0:
        return 1
    return max(1, -(-max(width, height) // working_max_side))


def stratified_samples(valid: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Pick up to ``n_samples`` valid pixels spread over a grid of about n_samples cells.

    Cells are visited round-robin in random order, one random valid pixel per cell per round,
    so sparse regions are not swamped by dense ones.

    Args:
        valid: (h, w) bool, pixels that may be sampled.
    Returns:
        (n, 2) int64 pixel coordinates (x, y), n = min(n_samples, valid.sum()).

    The cell counts, the thinning and the grouping by cell are compiled (numba, the ``build``
    extra: MissingExtraError without it); the random draws are numpy's, in the order the numpy
    definition made them (``tests/megadepth/test_megadepth_verify.py`` keeps it as the oracle).
    """
    w = valid.shape[1]
    if n_samples <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    grid = int(np.ceil(np.sqrt(n_samples)))
    flat, cell, per_cell = compiled(_valid_cells)(np.ascontiguousarray(valid, dtype=np.bool_), grid)
    if len(flat) > n_samples:
        # Keep a few random pixels per cell (enough for n_samples overall): the sorts stay small.
        cap = max(8, 2 * -(-n_samples // int(np.count_nonzero(per_cell))))
        draws = rng.random(len(flat), dtype=np.float32)
        flat, cell = compiled(_keep_few)(flat, cell, per_cell, draws, float(cap), n_samples)
        shuffle = rng.permutation(len(flat))  # random order within each cell ...
        taken, in_last = compiled(_whole_rounds)(shuffle, cell, grid * grid, n_samples)
        # ... whole rounds of one pixel per cell, then a random part of the last round
        extra = in_last[rng.permutation(len(in_last))[: n_samples - len(taken)]]
        flat = flat[np.sort(np.concatenate([taken, extra]))]  # chosen pixels, row-major
    return np.stack([flat % w, flat // w], axis=1).astype(np.int64)


def _valid_cells(valid: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-major indices of the valid pixels, their cells of a grid x grid partition (as
    ``(y * grid // h) * grid + x * grid // w``) and the number of valid pixels per cell (compiled)."""
    h, w = valid.shape
    n = 0
    for y in range(h):
        for x in range(w):
            n += valid[y, x]
    flat = np.empty(n, np.int64)
    cell = np.empty(n, np.int32)
    per_cell = np.zeros(grid * grid, np.int64)
    k = 0
    for y in range(h):
        row_cell = (y * grid // h) * grid
        for x in range(w):
            if valid[y, x]:
                c = row_cell + x * grid // w
                flat[k] = y * w + x
                cell[k] = c
                per_cell[c] += 1
                k += 1
    return flat, cell, per_cell


def _keep_few(
    flat: np.ndarray,
    cell: np.ndarray,
    per_cell: np.ndarray,
    draws: np.ndarray,
    cap: float,
    n_samples: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The pixels with ``draws * per_cell[cell] < cap`` (float64 product, as numpy promotes
    float32 x int64) when they are at least ``n_samples``, else all (compiled)."""
    keep = np.empty(len(flat), np.bool_)
    n = 0
    for k in range(len(flat)):
        keep[k] = np.float64(draws[k]) * np.float64(per_cell[cell[k]]) < cap
        n += keep[k]
    if n < n_samples:
        return flat, cell
    return flat[keep], cell[keep]


def _whole_rounds(
    shuffle: np.ndarray, cell: np.ndarray, n_cells: int, n_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``shuffle`` grouped by cell (a stable counting sort), ranked within their cell;
    returns those of the whole rounds (rank < last, the first round count reaching
    ``n_samples``) and those of round ``last``, each in grouped order (compiled)."""
    starts = np.zeros(n_cells + 1, np.int64)
    for k in range(len(shuffle)):
        starts[cell[shuffle[k]] + 1] += 1
    for c in range(n_cells):
        starts[c + 1] += starts[c]
    fill = starts[:-1].copy()
    order = np.empty(len(shuffle), np.int64)
    rank = np.empty(len(shuffle), np.int64)
    for k in range(len(shuffle)):
        c = cell[shuffle[k]]
        order[fill[c]] = shuffle[k]
        rank[fill[c]] = fill[c] - starts[c]
        fill[c] += 1
    per_round = np.zeros(len(shuffle) + 1, np.int64)
    for k in range(len(rank)):
        per_round[rank[k]] += 1
    last = 0
    total = per_round[0]
    while total < n_samples and last < len(shuffle):  # searchsorted(cumsum, n_samples)
        last += 1
        total += per_round[last]
    n_taken = 0
    for r in range(last):
        n_taken += per_round[r]
    taken = np.empty(n_taken, np.int64)
    in_last = np.empty(per_round[last], np.int64)
    a = b = 0
    for k in range(len(order)):
        if rank[k] < last:
            taken[a] = order[k]
            a += 1
        elif rank[k] == last:
            in_last[b] = order[k]
            b += 1
    return taken, in_last


def image_seed(seed: int, name: str) -> int:
    """A per-image sampling seed, independent of the order images are processed in."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


@dataclass
class _Prepared:
    """One image's working map and samples (before they are packed into the cache)."""

    small: np.ndarray  # (h, w) float32, NaN invalid
    scale: int
    K: np.ndarray  # (3, 3) working intrinsics
    pixels: np.ndarray  # (n, 2) float64
    world: np.ndarray  # (n, 4) float64 homogeneous


def _prepare(
    depth: np.ndarray, name: str, K, R, t, working_max_side: int, n_samples: int, seed: int
) -> _Prepared:
    full_h, full_w = depth.shape
    s = working_stride(full_w, full_h, working_max_side)
    small = np.asarray(depth[::s, ::s], dtype=np.float32)
    small = np.where(np.isfinite(small) & (small > 0), small, np.float32(np.nan))
    Kw = np.array(K, dtype=np.float64, copy=True)
    Kw[:2, :] /= s
    finite = np.isfinite(small)
    valid4 = np.zeros_like(finite)
    valid4[:-1, :-1] = finite[:-1, :-1] & finite[1:, :-1] & finite[:-1, 1:] & finite[1:, 1:]
    rng = np.random.default_rng(image_seed(seed, name))
    pixels = stratified_samples(valid4, n_samples, rng)
    z = small[pixels[:, 1], pixels[:, 0]].astype(np.float64)
    rays = np.c_[pixels.astype(np.float64), np.ones(len(pixels))] @ np.linalg.inv(Kw).T
    world = (rays * z[:, None] - t) @ R
    return _Prepared(small, s, Kw, pixels.astype(np.float64), np.c_[world, np.ones(len(world))])


def build_depth_cache(
    depths: list[np.ndarray | None],
    names: list[str],
    K: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    working_max_side: int,
    samples_per_direction: int,
    seed: int = 0,
    sizes: list[tuple[int, int]] | None = None,
    workers: int = 1,
) -> DepthCache:
    """Build the cache from full-resolution depth maps (read by ``depths[index]``, once each).

    Args:
        depths: per image a (H, W) float32 metric depth (0 invalid) or None (no usable depth).
            May be a lazy sequence (e.g. reading files); a full map is only held while it is
            subsampled and sampled.
        names: (N,) image names (sampling seeds).
        K: (N, 3, 3) full-resolution intrinsics; rotations (N, 3, 3), translations (N, 3).
        sizes: (width, height) of each map: the flat array is then allocated once (peak
            memory = the cache, not twice it); a map of another size raises ValueError.
        workers: threads reading and sampling maps (numpy releases the GIL).
    """
    n = len(names)

    def prepare(index: int) -> _Prepared | None:
        depth = depths[index]
        if depth is None:
            return None
        if sizes is not None and (depth.shape[1], depth.shape[0]) != tuple(sizes[index]):
            raise ValueError(f"depth map {index} is {depth.shape[::-1]}, expected {sizes[index]}")
        return _prepare(
            depth,
            names[index],
            K[index],
            rotations[index],
            translations[index],
            working_max_side,
            samples_per_direction,
            seed,
        )

    flat = None
    if sizes is not None:
        total = 0
        for width, height in sizes:
            s = working_stride(width, height, working_max_side)
            total += (-(-height // s) + 2) * (-(-width // s) + 2)
        flat = np.full(total, np.nan, dtype=np.float32)
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            prepared = pool.map(prepare, range(n))
            return _pack(prepared, K, flat)  # packs each map as soon as it is ready
    return _pack((prepare(index) for index in range(n)), K, flat)


def _pack(prepared, K: np.ndarray, flat: np.ndarray | None) -> DepthCache:
    """Pack per-image working maps and samples into one cache (in image order)."""
    parts, bases, strides, widths, heights, scales = [], [], [], [], [], []
    pixel_parts, world_parts, counts = [], [], []
    Kw = np.array(K, dtype=np.float64, copy=True)
    offset = 0
    for index, item in enumerate(prepared):
        if item is None:
            bases.append(offset)
            strides.append(2)
            widths.append(0)
            heights.append(0)
            scales.append(1)
            counts.append(0)
            continue
        h, w = item.small.shape
        if flat is None:
            padded = np.full((h + 2, w + 2), np.nan, dtype=np.float32)
            parts.append(padded.reshape(-1))
        else:
            padded = flat[offset : offset + (h + 2) * (w + 2)].reshape(h + 2, w + 2)
        padded[1:-1, 1:-1] = item.small
        bases.append(offset + (w + 2) + 1)
        strides.append(w + 2)
        widths.append(w)
        heights.append(h)
        scales.append(item.scale)
        offset += padded.size
        Kw[index] = item.K
        pixel_parts.append(item.pixels)
        world_parts.append(item.world)
        counts.append(len(item.pixels))
    if flat is None:
        flat = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return DepthCache(
        flat=flat,
        base=np.asarray(bases, dtype=np.int64),
        stride=np.asarray(strides, dtype=np.int64),
        width=np.asarray(widths, dtype=np.int64),
        height=np.asarray(heights, dtype=np.int64),
        scale=np.asarray(scales, dtype=np.int64),
        K=Kw,
        usable=np.asarray(counts) > 0,
        sample_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
        samples_pixel=np.concatenate(pixel_parts) if pixel_parts else np.zeros((0, 2)),
        samples_world=np.concatenate(world_parts) if world_parts else np.zeros((0, 4)),
    )
