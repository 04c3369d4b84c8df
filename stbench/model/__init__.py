"""The reference model: a D2D-style dense matcher with a temporal head (needs ``stbench[model]``).

Public API (imported lazily, so ``import stbench.model`` stays light):

- :func:`load_matcher` / :class:`Matcher` (:mod:`stbench.model.inference`): ``match`` and
  ``predict_time`` for the evaluation harness;
- :class:`ModelConfig` (:mod:`stbench.model.config`), :class:`SpatioTemporalMatcher`
  (:mod:`stbench.model.network`);
- :class:`TrainConfig`, :func:`preset_config` (:mod:`stbench.model.presets`) and
  :func:`stbench.model.train.run` (``stbench train-baseline``).
"""

from stbench.extras import lazy_exports

_EXPORTS = {
    "load_matcher": "stbench.model.inference",
    "Matcher": "stbench.model.inference",
    "ModelConfig": "stbench.model.config",
    "SpatioTemporalMatcher": "stbench.model.network",
    "TrainConfig": "stbench.model.presets",
    "preset_config": "stbench.model.presets",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
