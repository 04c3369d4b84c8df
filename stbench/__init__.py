"""stbench: spatio-temporal feature matching benchmark.

The public API, a handful of names imported lazily (``import stbench`` imports nothing heavy).
Every stage is ``stage(config, *inputs, out, *, overwrite=False, progress=False, ...) -> Path``
(docs/design.md, "Stages")::

    import stbench

    world = stbench.ensure_world()                          # the embedded synthetic world
    out = stbench.build_manifest(stbench.BuildConfig())     # -> the manifest directory
    manifest = stbench.load_verified_manifest(out)          # hash, schema, ids, paths checked
    problems = stbench.validate_manifest(out)               # [] when valid
    model = stbench.train_model(stbench.TrainConfig(epochs=1), out, "model")  # -> "model"
    run = stbench.evaluate_method(stbench.EvaluateConfig("sift"), out)  # -> the run directory

``Method`` and ``MatchResult`` are what a method under evaluation implements and returns
(:mod:`stbench.methods.base`). Everything else is importable from its module; names listed in a
module's ``__all__`` are its public API. ``pip install stbench`` reads and validates manifests;
building, training and plotting need extras (:mod:`stbench.extras`).
"""

from stbench.extras import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "BuildConfig": "stbench.manifest.config",
    "ConfigError": "stbench.errors",
    "DataError": "stbench.errors",
    "EvaluateConfig": "stbench.evaluate.config",
    "MatchResult": "stbench.methods.base",
    "Method": "stbench.methods.base",
    "StbenchError": "stbench.errors",
    "TrainConfig": "stbench.model.presets",
    "WorldConfig": "stbench.synth.config",
    "build_manifest": "stbench.manifest.build",
    "ensure_world": "stbench.synth.world",
    # ``stbench.evaluate`` is the subpackage; its entry point is exported under this name.
    "evaluate_method": "stbench.evaluate.run:evaluate",
    "generate_world": "stbench.synth.world",
    "load_manifest": "stbench.manifest.io",
    "load_verified_manifest": "stbench.manifest.verify",
    "resolve_method": "stbench.methods.registry",
    # the training stage is ``stbench.model.train.run``
    "train_model": "stbench.model.train:run",
    "validate_manifest": "stbench.manifest.validate",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
