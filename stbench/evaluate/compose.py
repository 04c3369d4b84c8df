"""Composite runs: one run's matches gated by another run's span predictions.

A composite (``stbench compose``) answers "what would a matcher followed by a separate time
predictor score on the spatio-temporal metrics?", the baseline a jointly trained model has to
beat. It reads two *finished* runs of the same manifest (content hash), split, pair selection
and cluster spec: the matching run's ``per_pair.parquet`` (its matches and their verdicts) and
a temporal run's ``per_image.parquet`` (its predicted class per span). The composite's
``pred_same_<span>`` are the temporal run's decisions
(:func:`stbench.evaluate.score.declared_same_span`), its ``per_image`` is the temporal run's,
and everything is then summarised by :func:`stbench.evaluate.summary.summarize`, the code that
scores every run: no metric is computed here.

The temporal run may differ per span: :func:`choose_gates` picks, per span, the pixels-track
temporal run with the best ``time_accuracy_<span>`` on the **val** split (ties: the lower
``time_mse_<span>``), and the composite uses that method's run on the evaluated split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench import __version__
from stbench.atomic import atomic_directory
from stbench.errors import ConfigError, DataError
from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.leaderboard import DEFAULT_TRACK, config_digest, load_summary
from stbench.evaluate.run import PER_IMAGE_FILE, PER_PAIR_FILE
from stbench.evaluate.score import declared_same_span
from stbench.evaluate.summary import summarize
from stbench.spans import CLASS_SPANS

__all__ = [
    "SELECTION_METRIC",
    "TIE_BREAK_METRIC",
    "GateChoice",
    "RunResults",
    "choose_gates",
    "compose_results",
    "compose_runs",
    "composite_name",
    "read_run",
]

#: Per span, the gating temporal method is the val run with the highest ``<metric>_<span>``...
SELECTION_METRIC = "time_accuracy"
#: ... and, on a tie, the lowest ``<metric>_<span>``.
TIE_BREAK_METRIC = "time_mse"
#: Columns a run's per_pair and per_image tables need to be composed.
_REQUIRED = (
    ("pair_id", "image_id0", "image_id1", "status", "n_verifiable", "cluster"),
    ("image_id", "status", "failure_reason", "cluster"),
)
#: Worst first: the status a composite image gets when its gate runs disagree.
_STATUS_ORDER = ("failed", "missing", "ok")


@dataclasses.dataclass(frozen=True)
class RunResults:
    """A finished evaluation run: its summary and per-item results."""

    directory: Path
    summary: dict[str, Any]
    per_pair: pd.DataFrame
    per_image: pd.DataFrame

    @property
    def method(self) -> str:
        return str(self.summary.get("method"))

    @property
    def manifest_name(self) -> str:
        return str(self.summary["manifest"]).partition("@")[0]

    @property
    def digest(self) -> str:
        """The run's config digest (the leaderboard's variant without a label)."""
        return config_digest(self.summary)

    @property
    def track(self) -> str:
        return str(self.summary.get("track") or DEFAULT_TRACK)

    @property
    def spec(self) -> ClusterSpec:
        return ClusterSpec.from_dict(self.summary.get("clusters"))

    def predicts(self, span: str) -> bool:
        """Whether the run predicted ``span`` for at least one image."""
        column = f"pred_{span}"
        return column in self.per_image and bool(self.per_image[column].notna().any())

    def describe(self) -> dict[str, Any]:
        """What the composite records about this component."""
        return {
            "run": str(self.directory),
            "method": self.method,
            "method_version": self.summary.get("method_version"),
            "method_config": self.summary.get("method_config"),
            "config_digest": self.digest,
            "track": self.track,
            "date": self.summary.get("date"),
        }


@dataclasses.dataclass(frozen=True)
class GateChoice:
    """The temporal method chosen on val for one span, with the numbers behind the choice."""

    span: str
    method: str
    config_digest: str
    metric: str
    value: float
    val_run: str
    candidates: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_run(run_dir: str | Path) -> RunResults:
    """A run directory's summary, ``per_pair.parquet`` and ``per_image.parquet``.

    Raises:
        DataError: not a run directory, or its results are missing or unreadable.
    """
    directory = Path(run_dir)
    summary = load_summary(directory)
    for key in ("method", "manifest", "split"):
        if not summary.get(key):
            raise DataError(f"{directory}/summary.json has no {key!r}: not an evaluation run")
    frames = []
    for name in (PER_PAIR_FILE, PER_IMAGE_FILE):
        path = directory / name
        if not path.is_file():
            raise DataError(
                f"{directory} has no {name}: not a finished `stbench evaluate` run "
                "(re-run it; cached predictions are reused)"
            )
        try:
            frames.append(pd.read_parquet(path))
        except (OSError, ValueError) as exc:  # pyarrow errors derive from these
            raise DataError(f"{path} cannot be read: {exc}") from exc
    for frame, name, needed in zip(frames, ("per_pair", "per_image"), _REQUIRED, strict=True):
        missing = [c for c in needed if c not in frame.columns]
        if missing and (name == "per_pair" or len(frame)):
            raise DataError(
                f"{directory}/{name}.parquet lacks column(s) {missing}: written by another "
                "version of stbench or damaged; re-run `stbench evaluate` (cached predictions "
                "are reused)"
            )
    return RunResults(directory, summary, frames[0], frames[1])


def _verified_manifest(run: RunResults) -> str:
    manifest = str(run.summary["manifest"])
    _, _, content_hash = manifest.partition("@")
    if not content_hash or content_hash == "unhashed":
        raise DataError(
            f"{run.directory} was scored on manifest {manifest!r}, which has no content hash: "
            "composing needs two runs whose manifest is verified to be the same; rebuild the "
            "manifest with `stbench manifest` and re-run the evaluations"
        )
    if (run.summary.get("manifest_check") or {}).get("modified"):
        raise DataError(
            f"{run.directory} was scored with --trust-modified on tables that no longer match "
            f"their content hash ({manifest}): the hash does not identify what it scored, so it "
            "cannot be composed; re-run it on the verified manifest"
        )
    return manifest


def _check_compatible(match: RunResults, other: RunResults, role: str) -> None:
    """Same verified manifest, split, cluster spec and selected pairs; else a DataError."""
    where = f"{role} run {other.directory} and matching run {match.directory}"
    manifest_a, manifest_b = _verified_manifest(match), _verified_manifest(other)
    if manifest_a != manifest_b:
        raise DataError(
            f"{where} were scored on different manifests ({manifest_b} vs {manifest_a}); "
            "evaluate both on the same manifest"
        )
    if match.summary["split"] != other.summary["split"]:
        raise DataError(
            f"{where} were scored on different splits ({other.summary['split']!r} vs "
            f"{match.summary['split']!r}); evaluate both on the same --split"
        )
    if match.spec != other.spec:
        raise DataError(
            f"{where} use different clusters ({other.spec.as_dict()} vs "
            f"{match.spec.as_dict()}); evaluate both with the same --image-clusters, "
            "--pair-clusters and --cluster-days"
        )
    pairs_a = set(match.per_pair["pair_id"].astype(str))
    pairs_b = set(other.per_pair["pair_id"].astype(str))
    if pairs_a != pairs_b:
        raise DataError(
            f"{where} scored different pairs ({len(pairs_b - pairs_a)} only in the {role} run, "
            f"{len(pairs_a - pairs_b)} only in the matching run); evaluate both with the same "
            "--max-pairs and --seed"
        )


def _check_matching(match: RunResults) -> None:
    matched = match.per_pair["status"].isin(["ok", "failed"])
    if not matched.any():
        raise DataError(
            f"{match.directory} ({match.method}) matched no pair: it is not a matching run; "
            "pass the run of a matcher (e.g. sift) as MATCH_RUN"
        )


def _check_temporal(run: RunResults) -> None:
    if not any(run.predicts(span) for span in CLASS_SPANS):
        raise DataError(
            f"{run.directory} ({run.method}) predicted no time for any image: it cannot gate "
            "matches; pass the run of a temporal method (e.g. colorstats) with --time"
        )


def _metric_value(run: RunResults, name: str) -> float | None:
    entry = (run.summary.get("metrics") or {}).get(name) or {}
    value = entry.get("value")
    return None if value is None or not np.isfinite(value) else float(value)


def choose_gates(
    val_runs: Sequence[RunResults], metric: str = SELECTION_METRIC
) -> dict[str, GateChoice]:
    """Per span, the val run of a pixels-track temporal method with the highest
    ``<metric>_<span>`` (ties: the lowest ``time_mse_<span>``, then the method name).

    Spans no run predicts get no choice.

    Raises:
        DataError: a run is not of the val split, is on the metadata track, predicts no time,
            repeats another run's method and config, or the runs differ in manifest.
    """
    if not val_runs:
        raise ConfigError("choosing a gate needs at least one val run of a temporal method")
    seen: dict[tuple[str, str], Path] = {}
    for run in val_runs:
        if run.summary["split"] != "val":
            raise DataError(
                f"{run.directory} was scored on split {run.summary['split']!r}: the gating "
                "method is chosen on val only; pass runs of `stbench evaluate --split val`"
            )
        if run.track != "pixels":
            raise DataError(
                f"{run.directory} ({run.method}) is a {run.track}-track run: gates are chosen "
                "among pixels-only temporal baselines; leave it out"
            )
        _check_temporal(run)
        if _verified_manifest(run) != _verified_manifest(val_runs[0]):
            raise DataError(
                f"val runs {val_runs[0].directory} and {run.directory} were scored on different "
                "manifests; evaluate every candidate on the same manifest"
            )
        key = (run.method, run.digest)
        if key in seen:
            raise DataError(
                f"val runs {seen[key]} and {run.directory} are the same method and config "
                f"({run.method}, {run.digest}); pass each candidate once"
            )
        seen[key] = run.directory
    choices: dict[str, GateChoice] = {}
    for span in CLASS_SPANS:
        scored = []
        for run in val_runs:
            value = _metric_value(run, f"{metric}_{span}")
            if run.predicts(span) and value is not None:
                mse = _metric_value(run, f"{TIE_BREAK_METRIC}_{span}")
                scored.append((-value, np.inf if mse is None else mse, run.method, run))
        if not scored:
            continue
        best = min(scored, key=lambda item: item[:3])
        run = best[3]
        choices[span] = GateChoice(
            span=span,
            method=run.method,
            config_digest=run.digest,
            metric=f"{metric}_{span}",
            value=-best[0],
            val_run=str(run.directory),
            candidates={
                f"{r.method}@{r.digest}": _metric_value(r, f"{metric}_{span}") for r in val_runs
            },
        )
    return choices


def _gate_runs(
    time_runs: Sequence[RunResults], choices: Mapping[str, GateChoice] | None
) -> dict[str, RunResults]:
    """The temporal run used for each span: the one given, or the val choice's run."""
    if not time_runs:
        raise ConfigError("a composite needs at least one temporal run (--time RUN)")
    if choices is None:
        if len(time_runs) > 1:
            raise ConfigError(
                f"{len(time_runs)} temporal runs given but no val runs to choose among them: "
                "pass --choose-on-val with their val runs, or a single --time run"
            )
        _check_temporal(time_runs[0])
        return {span: time_runs[0] for span in CLASS_SPANS if time_runs[0].predicts(span)}
    if not choices:
        raise DataError("no val run predicts any span: nothing to gate with")
    by_key = {(run.method, run.digest): run for run in time_runs}
    gates = {}
    for span, choice in choices.items():
        run = by_key.get((choice.method, choice.config_digest))
        if run is None:
            raise DataError(
                f"on val, {choice.method} (config {choice.config_digest}) is the best gate for "
                f"{span} ({choice.metric} = {choice.value:.3f}), but no --time run has that "
                f"method and config; pass its run on the evaluated split with --time"
            )
        gates[span] = run
    return gates


def _distinct(gates: Mapping[str, RunResults]) -> list[RunResults]:
    """The gate runs, each once, in span order."""
    runs: dict[Path, RunResults] = {}
    for span in CLASS_SPANS:
        if span in gates:
            runs.setdefault(gates[span].directory, gates[span])
    return list(runs.values())


def composite_name(match: RunResults, gates: Mapping[str, RunResults]) -> str:
    """``<matcher>+<temporal method>`` (several temporal methods joined by ``/``)."""
    methods = list(dict.fromkeys(run.method for run in _distinct(gates)))
    return f"{match.method}+{'/'.join(methods)}"


def _composite_images(gates: Mapping[str, RunResults]) -> pd.DataFrame:
    """The per-image table: each span's true and predicted class from that span's gate run;
    an image's status is the worst of its gate runs' (failed, missing, ok)."""
    runs = _distinct(gates)
    first = runs[0].per_image.set_index("image_id", drop=False)
    if first.index.has_duplicates:
        raise DataError(f"{runs[0].directory}/per_image.parquet repeats an image id")
    for run in runs[1:]:
        if set(run.per_image["image_id"]) != set(first.index):
            raise DataError(
                f"temporal runs {runs[0].directory} and {run.directory} scored different images; "
                "evaluate them with the same --max-images and --seed"
            )
    out = first.copy()
    statuses = [run.per_image.set_index("image_id")["status"].reindex(out.index) for run in runs]
    rank = np.min([s.map(_STATUS_ORDER.index).fillna(1).to_numpy() for s in statuses], axis=0)
    out["status"] = np.asarray(_STATUS_ORDER, dtype=object)[rank.astype(int)]
    reasons = [run.per_image.set_index("image_id")["failure_reason"] for run in runs]
    reason = reasons[0].reindex(out.index)
    for other in reasons[1:]:
        reason = reason.fillna(other.reindex(out.index))
    out["failure_reason"] = reason.to_numpy()
    for span in CLASS_SPANS:
        if span in gates:
            source = gates[span].per_image.set_index("image_id").reindex(out.index)
            out[f"true_{span}"] = source[f"true_{span}"].to_numpy()
            out[f"pred_{span}"] = source[f"pred_{span}"].to_numpy()
        else:
            out[f"pred_{span}"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out.reset_index(drop=True)


def compose_results(
    match: RunResults, gates: Mapping[str, RunResults]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The composite's ``per_pair`` (the matcher's rows; ``pred_same_<span>`` from the gate's
    predictions) and ``per_image`` (the gates' rows).

    Raises:
        DataError: the runs differ in manifest, split, clusters or pairs, the matching run
            matched nothing, or a gate run predicts no time.
    """
    _check_matching(match)
    if not gates:
        raise DataError("the temporal run(s) predict no span: nothing to gate with")
    for run in _distinct(gates):
        _check_temporal(run)
        _check_compatible(match, run, "temporal")
    per_image = _composite_images(gates)
    per_pair = match.per_pair.copy()
    predicted = per_image.set_index("image_id")
    for span in CLASS_SPANS:
        column = f"pred_same_{span}"
        if span in gates:
            per_pair[column] = declared_same_span(
                per_pair["image_id0"], per_pair["image_id1"], predicted[f"pred_{span}"]
            )
        else:
            per_pair[column] = pd.array([pd.NA] * len(per_pair), dtype="boolean")
    return per_pair, per_image


def compose_runs(
    match_run: str | Path,
    time_runs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    val_runs: Sequence[str | Path] = (),
    n_bootstrap: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    write_plots: bool = True,
) -> Path:
    """Write the composite run of ``match_run``'s matches gated by ``time_runs``; returns its
    directory (default ``$STBENCH_HOME/runs/<manifest>/<matcher>+<temporal method>``).

    With ``val_runs`` (val-split runs of the candidate temporal methods), each span is gated
    by the candidate best on val (:func:`choose_gates`), whose run on the evaluated split must
    be among ``time_runs``; without, ``time_runs`` is one run, used for every span it predicts.
    The directory holds ``per_pair.parquet``, ``per_image.parquet``, ``config.json`` (the
    matching run's), ``summary.json`` (with ``composed_from``), ``summary.csv``, ``summary.md``
    and ``plots/``; it is written whole or not at all. ``n_bootstrap`` and ``seed`` default to
    the matching run's.

    Raises:
        DataError: runs that cannot be composed (see :func:`compose_results`,
            :func:`choose_gates`).
        ConfigError: several temporal runs and no val runs.
        OutputExistsError: ``out`` is not empty and ``overwrite`` is False.
    """
    from stbench.evaluate.report import write_reports
    from stbench.evaluate.run import default_run_dir, failure_summary

    match = read_run(match_run)
    times = [read_run(path) for path in time_runs]
    vals = [read_run(path) for path in val_runs]
    choices = choose_gates(vals) if vals else None
    if vals and _verified_manifest(vals[0]) != _verified_manifest(match):
        raise DataError(
            f"val run {vals[0].directory} and matching run {match.directory} were scored on "
            "different manifests; choose the gate on the val split of the evaluated manifest"
        )
    gates = _gate_runs(times, choices)
    per_pair, per_image = compose_results(match, gates)
    name = composite_name(match, gates)
    config = dict(match.summary.get("config") or {})
    n_boot = int(n_bootstrap if n_bootstrap is not None else config.get("n_bootstrap", 1000))
    seed = int(seed if seed is not None else config.get("seed", 0))
    summary = summarize(per_pair, per_image, n_boot, seed, match.spec)
    matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
    components = [match, *gates.values()]
    summary.update(
        method=name,
        method_spec="compose",
        # the versions in the order of the name's components
        method_version="+".join(
            str(run.summary.get("method_version")) for run in [match, *_distinct(gates)]
        ),
        method_config={
            "match": {"method": match.method, "config_digest": match.digest},
            "time": {s: {"method": g.method, "config_digest": g.digest} for s, g in gates.items()},
        },
        manifest=match.summary["manifest"],
        manifest_check=match.summary.get("manifest_check"),
        split=match.summary["split"],
        track="metadata" if any(r.track == "metadata" for r in components) else "pixels",
        track_declared_by=(
            "user"
            if any(r.summary.get("track_declared_by") == "user" for r in components)
            else "method"
        ),
        failures=failure_summary(per_pair, per_image),
        n_pairs=len(per_pair),
        n_matched_pairs=len(matched),
        n_images=len(per_image),
        ms_per_pair=match.summary.get("ms_per_pair"),
        date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        stbench_version=__version__,
        config={**config, "n_bootstrap": n_boot, "seed": seed},
        composed_from={
            "match": match.describe(),
            "time": {span: gates[span].describe() for span in CLASS_SPANS if span in gates},
            "gate_chosen_on": "val" if choices is not None else "given",
            "gate_choice": {s: c.as_dict() for s, c in (choices or {}).items()},
        },
    )
    run_dir = Path(out) if out is not None else default_run_dir(match.manifest_name, name)
    with atomic_directory(run_dir, overwrite=overwrite) as tmp:
        per_pair.to_parquet(tmp / PER_PAIR_FILE, index=False)
        per_image.to_parquet(tmp / PER_IMAGE_FILE, index=False)
        config_path = match.directory / "config.json"
        if config_path.is_file():
            (tmp / "config.json").write_text(config_path.read_text())
        write_reports(summary, per_pair, per_image, tmp, with_plots=write_plots)
    return run_dir
