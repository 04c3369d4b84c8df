"""The embedded synthetic world: a ray-cast town written as MegaDepth scenes and AMOS webcams.

Public entry points (imported lazily, nothing heavy at import):
``generate_world(out, preset="default", seed=0, overwrite=False) -> Path`` and
``ensure_world(preset="default", seed=0) -> Path``; the renderer lives in
:mod:`stbench.synth.render` (``Camera``, ``render_geometry``) and :mod:`stbench.synth.shade`
(``Weather``, ``sample_weather``, ``shade``, ``render``).
"""

from __future__ import annotations

__all__ = ["ensure_world", "generate_world"]


def __getattr__(name: str):
    if name in __all__:
        from stbench.synth import world

        return getattr(world, name)
    raise AttributeError(f"module 'stbench.synth' has no attribute {name!r}")
