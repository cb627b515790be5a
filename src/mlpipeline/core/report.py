"""Everything the package renders for people: the gate report, the model card, the summary
after `make repro` and the version table. Pure: plain data in, text out."""

from __future__ import annotations

from typing import Any

from mlpipeline.core import rules as r

GATE_MARKER = "<!-- mlpipeline-gate-report -->"


def fmt(value: float | None) -> str:
    """A figure in four significant digits; a dash when it was not measured."""
    return "–" if value is None else f"{value:.4g}"


def rule_table(outcomes: list[r.Outcome]) -> str:
    """Rules as a Markdown table."""
    lines = ["| rule | value | threshold | base | result |", "|---|---|---|---|---|"]
    for o in outcomes:
        result = {"pass": "✅ pass", "fail": "❌ FAIL", "skip": "⏭ skipped"}[o.status]
        if o.note:
            result += f" ({o.note})" if o.status == r.FAIL else ""
        lines.append(
            f"| {r.describe(o)} | {fmt(o.value)} | {fmt(o.threshold)} | {fmt(o.base_value)} | {result} |"
        )
    return "\n".join(lines)


def rule_lines(outcomes: list[r.Outcome]) -> list[str]:
    """Rules as aligned terminal lines."""
    lines = []
    for o in outcomes:
        mark = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[o.status]
        extra = f"  [{o.note}]" if o.note and o.status == r.FAIL else ""
        lines.append(
            f"  {mark:4}  {r.describe(o):42} value={fmt(o.value):>8}  threshold={fmt(o.threshold)}{extra}"
        )
    return lines


def slice_table(slices: dict[str, Any], task: str) -> str:
    """Per-group metrics as a Markdown table."""
    shown = ["f1", "roc_auc", "recall"] if task == "classification" else ["mae", "rmse", "r2"]
    lines = [
        "| slice | group | n | " + " | ".join(shown) + " |",
        "|---|---|---|" + "---|" * len(shown),
    ]
    for column, groups in slices.get("by", {}).items():
        for group, values in groups.items():
            cells = " | ".join(fmt(values.get(k)) for k in shown)
            lines.append(f"| {column} | {group} | {values['n']} | {cells} |")
    return "\n".join(lines)


def gate_markdown(
    outcomes: list[r.Outcome],
    note: str,
    task: str,
    ref: str | None,
    diff_sections: dict[str, str] | None = None,
    slices: dict[str, Any] | None = None,
) -> str:
    """The Markdown gate report for CI summaries and pull-request comments."""
    failed = [o for o in outcomes if o.status == r.FAIL]
    head = "✅ **Gate passed**" if not failed else f"❌ **Gate failed**: {len(failed)} rule(s) broken"
    parts = [GATE_MARKER, "## Model gate", head]
    if ref:
        parts.append(f"Base: `{ref}`" + (f" — {note}" if note else ""))
    if failed:
        parts.append(
            "Broken: "
            + "; ".join(
                f"`{r.describe(o)}` (value {fmt(o.value)}, threshold {fmt(o.threshold)}"
                + (f", {ref} {fmt(o.base_value)}" if o.kind == "max_regression" else "")
                + ")"
                for o in failed
            )
        )
    parts += ["### Rules", rule_table(outcomes)]
    for title, text in (diff_sections or {}).items():
        parts += [f"### {title}", text]
    if slices is not None:
        parts += ["### Slices", slice_table(slices, task)]
    return "\n\n".join(parts) + "\n"


def summary_text(
    metrics: dict[str, Any],
    baseline: dict[str, Any],
    latency: dict[str, Any] | None,
    passed: bool,
) -> str:
    """Model against baseline, latency, then the gate verdict (what `make repro` prints last)."""
    lines = [f"{'metric':20} {'model':>10} {'baseline':>10}"]
    for name, value in metrics.items():
        if isinstance(value, float):
            b = baseline.get(name)
            lines.append(f"{name:20} {value:10.4f} {'' if b is None else f'{b:10.4f}'}")
    if latency is not None:
        lines.append(
            f"latency: p50 {latency['latency_p50_ms']} ms, p95 {latency['latency_p95_ms']} ms,"
            f" {latency['throughput_rows_per_s']:.0f} rows/s, model {latency['model_size_mb']} MB"
        )
    lines.append(f"gate: {'PASSED' if passed else 'FAILED'} (details: metrics/gate.json)")
    return "\n".join(lines)


def card_markdown(card: dict[str, Any]) -> str:
    """The model card a person reads."""
    metrics, baseline = card.get("metrics") or {}, card.get("baseline") or {}
    rows = [
        f"| {k} | {v:.4f} | {baseline.get(k) if baseline.get(k) is not None else '–'} |"
        for k, v in metrics.items()
        if isinstance(v, float)
    ]
    gaps = ", ".join(
        f"{k} {g['value']} ({g['column']})" for k, g in sorted(card.get("slice_gaps", {}).items())
    )
    split = card["split"]
    predicts = f"`{card['target']}` ({card['task']}"
    predicts += f", positive class {card['positive_class']})" if card.get("positive_class") else ")"
    lines = [
        f"# {card['artifact']} {card['version']}",
        "",
        f"Predicts {predicts}. {card.get('description') or ''}".rstrip(),
        f"Owner: {card.get('owner') or '–'}. Notes: {card.get('notes') or '–'}",
        "",
        f"- Trained at commit `{card['training_commit']}` with {card['estimator']} {card['hyperparameters']}",
        f"- Data: `{card['data']['source']}` (md5 {card['data']['raw_md5']}); {split['policy']} split, seed"
        f" {split['seed']}: {split['rows_train']} train / {split['rows_test']} test rows",
        f"- Features: {len(card['features'])}; left out: {', '.join(card.get('left_out', {}))}",
        f"- Model file sha256 `{card['model_sha256']}`",
        f"- Gate: {'passed' if card['gate']['passed'] else 'FAILED'} ({card['gate']['rules']} rules)",
        "",
        "| metric | model | baseline |",
        "|---|---|---|",
        *rows,
        "",
        f"Largest gaps between slices: {gaps or '–'}",
    ]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns, two spaces apart, for the terminal."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
