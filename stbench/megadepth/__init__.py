"""MegaDepth ingest: index scenes into image records and depth-verified pairs.

Public API (imported lazily, so ``import stbench.megadepth`` stays cheap)::

    list_scenes(root) -> list[str]
    index_scene(root, scene, config: MegaDepthConfig) -> Records
    index_megadepth(config, root, out, *, overwrite=False, workers=1, ...) -> Path
    index_scene_info(npz, root, config) -> Records      # D2-Net / LoFTR .npz indices
"""

from stbench.extras import lazy_exports

_EXPORTS = {
    "MegaDepthConfig": "stbench.megadepth.config",
    "list_scenes": "stbench.megadepth.layout",
    "index_scene": "stbench.megadepth.index",
    "index_megadepth": "stbench.megadepth.run",
    "index_scene_info": "stbench.megadepth.sceneinfo",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
