"""The embedded synthetic world: a ray-cast town written as MegaDepth scenes and AMOS webcams.

Public entry points (imported lazily, nothing heavy at import):
``generate_world(config: WorldConfig, out=None, *, overwrite=False, progress=False, workers=None)
-> Path`` and ``ensure_world(config=None) -> Path``; the renderer lives in
:mod:`stbench.synth.render` (``Camera``, ``render_geometry``) and :mod:`stbench.synth.shade`
(``Weather``, ``day_weather``, ``shade``, ``render``); the climate in
:mod:`stbench.synth.phenology` (seasons, leaves, grass) and :mod:`stbench.synth.weather` (daily
weather and snowpack).
"""

from stbench.extras import lazy_exports

_EXPORTS = {
    "WorldConfig": "stbench.synth.config",
    "ensure_world": "stbench.synth.world",
    "generate_world": "stbench.synth.world",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
