"""A dense synthetic MegaDepth scene for the pair-mining benchmark, cached under STBENCH_HOME.

The ``large`` preset's dense scene (``5003``, bariloche: 1,000 views of one town, 240-320 px,
40 SfM points per view) is rendered once; for each requested size n the first n views get their
own MegaDepth root ``<cache>/views<n>`` (their COLMAP model; the dense images and depth maps are
shared through a symlink), so every size is indexed end to end from files.

Run alone to build the cache:  PYTHONPATH=. nice python benchmarks/dense_scene.py [--views 1000]
"""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

from stbench.paths import stbench_home
from stbench.synth import megadepth as md
from stbench.synth.world import PRESETS

SCENE = next(spec for spec in PRESETS["large"] if spec.scene == "5003")


def cache_dir() -> Path:
    return stbench_home() / "benchmarks" / "dense_scene" / f"{SCENE.scene}-{SCENE.n_views}"


def render_scene(out: Path, seed: int = 5) -> tuple[list, object, list[dict]]:
    """Render all views once (resumable in chunks); returns views, points and per-view results."""
    from stbench.synth.textures import texture_bank

    texture_bank()
    views, points = md.plan_scene(SCENE, seed=seed)
    render_root = out / "render"
    md.prepare_dirs(render_root, SCENE.scene)
    results: list[dict] = []
    for start in range(0, len(views), 50):
        chunk_file = out / "chunks" / f"{start:05d}.pkl"
        if chunk_file.is_file():
            results += pickle.loads(chunk_file.read_bytes())
            continue
        chunk = md.render_views_task(str(render_root), SCENE, views[start : start + 50], points)
        chunk_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = chunk_file.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(chunk))
        tmp.replace(chunk_file)
        results += chunk
        print(f"rendered {start + len(chunk)} / {len(views)} views", flush=True)
    return views, points, results


def scene_root(n_views: int) -> Path:
    """MegaDepth root holding the first ``n_views`` views of the dense scene (built if needed)."""
    out = cache_dir()
    root = out / f"views{n_views}"
    model = root / "MegaDepth_v1_SfM" / SCENE.scene / "sparse" / "manhattan" / "0"
    if (model / "points3D.bin").is_file():
        return root
    views, points, results = render_scene(out)
    if n_views > len(views):
        raise ValueError(f"the dense scene has {len(views)} views, {n_views} requested")
    dense = root / "MegaDepth_v1" / SCENE.scene
    dense.mkdir(parents=True, exist_ok=True)
    link = dense / "dense0"
    if not link.exists():
        os.symlink(out / "render" / "MegaDepth_v1" / SCENE.scene / "dense0", link)
    (root / "MegaDepth_v1_SfM" / SCENE.scene / "images").mkdir(parents=True, exist_ok=True)
    names = {view.name for view in views[:n_views]}
    md.write_sparse_model(
        root, SCENE, views[:n_views], points, [r for r in results if r["name"] in names]
    )
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", default="250,500,1000")
    args = parser.parse_args()
    for n in [int(v) for v in args.views.split(",")]:
        print(scene_root(n))


if __name__ == "__main__":
    main()
