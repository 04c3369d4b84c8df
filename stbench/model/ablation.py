"""Ablations of the reference model's recipe, trained at one budget and seed, scored on ``val``.

Each :class:`Variant` is a set of :class:`stbench.model.presets.TrainConfig` overrides on top of
a preset's budget (``quick`` by default). ``benchmarks/ablations.py`` trains every variant with
:func:`stbench.model.train.run`, scores it with the evaluation harness (method ``reference``
with the variant's weights, split ``val`` only: choices made here never look at test; the
harness lives above this package, so the loop is in the script) and collects one
:class:`AblationRow` per variant with the harness's clustered 95 % intervals and cluster counts.
:func:`write_table` writes the rows as Markdown and CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stbench.atomic import write_text_atomic
from stbench.config import config_from_dict
from stbench.errors import ConfigError
from stbench.model.config import temporal_input_fields
from stbench.model.presets import PRESETS, TrainConfig

__all__ = [
    "ABLATION_SPLIT",
    "METRICS",
    "PAIRED_METRICS",
    "VARIANTS",
    "AblationRow",
    "Variant",
    "clusters_line",
    "variant_config",
    "write_table",
]

#: The split every ablation is scored on (never test).
ABLATION_SPLIT = "val"


@dataclass(frozen=True)
class Variant:
    """One ablation: a name, the question it answers, and its TrainConfig overrides."""

    name: str
    question: str
    overrides: dict[str, Any] = field(default_factory=dict)


_DECODER = temporal_input_fields("decoder")

#: The variants, the proposal's design first (the reference the others are read against).
VARIANTS: tuple[Variant, ...] = (
    Variant("decoder", "the proposal: time MLP on decoder output, all losses", {"model": _DECODER}),
    Variant(
        "colour", "time inputs: 36 colour statistics only",
        {"model": temporal_input_fields("colour")},
    ),
    Variant(
        "both", "time inputs: decoder output + colour statistics",
        {"model": temporal_input_fields("both")},
    ),
    Variant(
        "no_time_loss", "matcher without time supervision (temporal_weight 0)",
        {"model": _DECODER, "temporal_weight": 0.0},
    ),
    Variant(
        "no_match_loss", "time head without matching supervision (matching_weight 0)",
        {"model": _DECODER, "matching_weight": 0.0},
    ),
    Variant(
        "mse_only", "temporal loss: MSE in steps alone (ce_weight 0)",
        {"model": _DECODER, "ce_weight": 0.0},
    ),
    Variant(
        "time_gradient_full",
        "time loss shapes the shared features at full strength (temporal_feature_gradient 1)",
        {"model": {**_DECODER, "temporal_feature_gradient": 1.0}},
    ),
    Variant(
        "time_detached",
        "time head on detached decoder features (temporal_feature_gradient 0)",
        {"model": {**_DECODER, "temporal_feature_gradient": 0.0}},
    ),
    Variant(
        "head_dropout",
        "dropout 0.3 on the time head's standardised inputs (temporal_dropout 0.3)",
        {"model": {**_DECODER, "temporal_dropout": 0.3}},
    ),
)  # fmt: skip

#: (summary metric, column label) of the table, in order.
METRICS: tuple[tuple[str, str], ...] = (
    ("precision_3px", "P@3px"),
    ("precision_pooled_3px", "pooled P@3px"),
    ("pose_auc_10", "AUC@10"),
    ("num_matches", "matches/pair"),
    ("time_accuracy_season", "season acc"),
    ("time_accuracy_month", "month acc"),
    ("time_accuracy_week", "week acc"),
    ("time_accuracy_hour", "hour acc"),
    ("time_mse_month", "month MSE"),
    ("time_mse_hour", "hour MSE"),
)
_WITH_INTERVAL = ("precision_3px", "time_accuracy_season", "time_accuracy_month")
#: Metrics compared pairwise against the first variant.
PAIRED_METRICS: tuple[str, ...] = (
    "precision_3px",
    "time_accuracy_season",
    "time_accuracy_month",
    "time_accuracy_hour",
    "time_mse_hour",
)


def _variant(name: str) -> Variant:
    for variant in VARIANTS:
        if variant.name == name:
            return variant
    known = ", ".join(v.name for v in VARIANTS)
    raise ConfigError(f"unknown ablation variant {name!r}; choose from {known}")


def variant_config(
    name: str,
    preset: str = "quick",
    seed: int = 0,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
) -> TrainConfig:
    """The training config of variant ``name``: ``preset``'s budget and settings, the
    variant's overrides (its ``model`` keys merged into the preset's), ``seed``, and
    optionally a smaller ``epochs`` x ``steps_per_epoch``."""
    variant = _variant(name)
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **variant.overrides, "seed": seed}
    values["model"] = {**PRESETS[preset].get("model", {}), **variant.overrides.get("model", {})}
    if epochs is not None:
        values["epochs"] = epochs
    if steps_per_epoch is not None:
        values["steps_per_epoch"] = steps_per_epoch
    return config_from_dict(TrainConfig, values, f"ablation {name} (preset {preset})")


@dataclass
class AblationRow:
    """One trained and scored variant: its settings, training record and summary metrics."""

    variant: str
    question: str
    temporal_inputs: str
    matching_weight: float
    temporal_weight: float
    ce_weight: float
    train_wall_s: float
    eval_wall_s: float
    steps: int
    metrics: dict[str, dict[str, Any]]
    #: metric -> ``delta`` (this variant minus the first), ``ci_low``, ``ci_high``, ``p_value``,
    #: ``n_clusters``, ``note``: a clustered paired comparison on the items both scored
    #: (:func:`stbench.evaluate.compare.compare_runs`); empty for the first variant.
    paired: dict[str, dict[str, Any]] = field(default_factory=dict)


def clusters_line(row: AblationRow) -> str:
    """Cluster counts of the row's metrics with intervals, as printed and tabled."""
    parts = []
    for key in ("precision_3px", "time_accuracy_season"):
        m = row.metrics.get(key) or {}
        parts.append(f"{key} n={m.get('n', 0)} clusters={m.get('n_clusters', 0)}")
    return "; ".join(parts)


def _cell(metric: dict[str, Any], interval: bool, digits: int = 3) -> str:
    value = metric.get("value")
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    if interval:
        low, high = metric.get("ci_low"), metric.get("ci_high")
        text += (
            f" [{low:.{digits}f}, {high:.{digits}f}]"
            if low is not None and high is not None
            else f" ({metric.get('note') or 'no interval'})"
        )
    return text


def _delta_cell(comparison: dict[str, Any], digits: int) -> str:
    delta = comparison.get("delta")
    if delta is None:
        return "–"
    low, high, p = comparison.get("ci_low"), comparison.get("ci_high"), comparison.get("p_value")
    if low is None or high is None:
        return f"{delta:+.{digits}f} ({comparison.get('note') or 'no interval'})"
    p_text = f", p {p:.2f}" if p is not None else ""
    return f"{delta:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]{p_text}"


def _markdown(rows: list[AblationRow], header: dict[str, Any]) -> str:
    lines = [f"- {key}: {value}" for key, value in header.items()]
    first = next((r for r in rows), None)
    if first is not None:
        p, s = first.metrics.get("precision_3px", {}), first.metrics.get("time_accuracy_season", {})
        lines.append(
            f"- clusters (95 % cluster-bootstrap intervals): pairs n = {p.get('n', 0)} in "
            f"{p.get('n_clusters', 0)} scene(s); labelled images n = {s.get('n', 0)} in "
            f"{s.get('n_clusters', 0)} camera-fortnights"
        )
    columns = ["variant", "time inputs", *[label for _, label in METRICS], "train s"]
    lines += ["", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = [f"`{row.variant}`", row.temporal_inputs]
        for key, _ in METRICS:
            digits = 1 if key.startswith(("num_", "time_mse")) else 3
            cells.append(_cell(row.metrics.get(key) or {}, key in _WITH_INTERVAL, digits))
        cells.append(f"{row.train_wall_s:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    paired = [row for row in rows[1:] if row.paired]
    if paired:
        lines += [
            "",
            f"Paired against `{rows[0].variant}` (variant minus `{rows[0].variant}` on the same "
            "items; 95 % cluster-bootstrap interval of the difference, permutation p):",
            "",
            "| variant | " + " | ".join(f"Δ {dict(METRICS)[key]}" for key in PAIRED_METRICS) + " |",
            "|" + " --- |" * (len(PAIRED_METRICS) + 1),
        ]
        for row in paired:
            cells = [f"`{row.variant}`"]
            for key in PAIRED_METRICS:
                cells.append(_delta_cell(row.paired.get(key) or {}, 1 if "mse" in key else 3))
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Variants:"]
    lines += [f"- `{row.variant}`: {row.question}" for row in rows]
    return "\n".join(lines) + "\n"


def _csv(rows: list[AblationRow], header: dict[str, Any]) -> str:
    fields = [
        "variant", "temporal_inputs", "matching_weight", "temporal_weight", "ce_weight",
        "steps", "train_wall_s", "eval_wall_s",
    ]  # fmt: skip
    for key, _ in METRICS:
        fields += [f"{key}{suffix}" for suffix in ("", "_ci_low", "_ci_high", "_n", "_clusters")]
    for key in PAIRED_METRICS:
        fields += [f"delta_{key}{suffix}" for suffix in ("", "_ci_low", "_ci_high", "_p")]
    fields += list(header)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values: dict[str, Any] = {
            "variant": row.variant,
            "temporal_inputs": row.temporal_inputs,
            "matching_weight": row.matching_weight,
            "temporal_weight": row.temporal_weight,
            "ce_weight": row.ce_weight,
            "steps": row.steps,
            "train_wall_s": round(row.train_wall_s, 1),
            "eval_wall_s": round(row.eval_wall_s, 1),
            **header,
        }
        for key, _ in METRICS:
            m = row.metrics.get(key) or {}
            values[key] = m.get("value")
            values[f"{key}_ci_low"] = m.get("ci_low")
            values[f"{key}_ci_high"] = m.get("ci_high")
            values[f"{key}_n"] = m.get("n")
            values[f"{key}_clusters"] = m.get("n_clusters")
        for key in PAIRED_METRICS:
            c = row.paired.get(key) or {}
            values[f"delta_{key}"] = c.get("delta")
            values[f"delta_{key}_ci_low"] = c.get("ci_low")
            values[f"delta_{key}_ci_high"] = c.get("ci_high")
            values[f"delta_{key}_p"] = c.get("p_value")
        writer.writerow(values)
    return buffer.getvalue()


def write_table(rows: list[AblationRow], out: str | Path, header: dict[str, Any]) -> list[Path]:
    """Write ``ablations.md`` and ``ablations.csv`` into ``out`` (atomically); ``header``
    (budget, seed, split, manifest name and hash, command, ...) heads the Markdown and is a
    column of every CSV row. Returns the two paths."""
    if not rows:
        raise ConfigError("no ablation rows to write")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    markdown, table = out / "ablations.md", out / "ablations.csv"
    write_text_atomic(markdown, _markdown(rows, header))
    write_text_atomic(table, _csv(rows, header))
    return [markdown, table]
