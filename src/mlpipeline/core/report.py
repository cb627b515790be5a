"""Everything the package renders for people: the gate report, the model card, the summary
after `make repro` and the version table. Pure: plain data in, text out."""

from __future__ import annotations

from typing import Any

from mlpipeline.core import rules as r

GATE_MARKER = "<!-- mlpipeline-gate-report -->"


def fmt(value: float | None) -> str:
    """A figure in four significant digits; a dash when it was not measured."""
    return "–" if value is None else f"{value:.4g}"


STATUS = {"pass": "✅ pass", "fail": "❌ FAIL", "warn": "⚠️ warning", "skip": "⏭ skipped"}
HOW_TO_READ = (
    "A regression rule reads the change and its 95% interval against the tolerance t:"
    " **better** when the whole interval is an improvement; within t, **no detectable change**"
    " (the interval includes zero) or **worse, within the tolerance** (it does not): both pass;"
    " past t, **worse beyond the tolerance** when the interval excludes zero (fail), else the rows"
    " **cannot tell** (a failure; a warning with `on_inconclusive: warn`). So a rule fails when the"
    " change is past t (and, with `warn`, its interval excludes zero): *fails t / 2t* is how often it"
    " fails a true regression of the tolerance and of twice it, at these rows' noise. The tolerance"
    " is where the gate is indifferent (about half of true regressions of exactly t fail, at any"
    " row count); twice the tolerance is what it should stop. Intervals come from a seeded paired"
    " bootstrap (1,000 resamples of the compared rows)."
)


def one_class_hint(metrics: dict[str, Any], positive: Any, hyperparameters: dict[str, Any]) -> str | None:
    """What to try when a binary model predicts no row of the positive class (recall 0), the usual
    first result on skewed classes; None otherwise (``positive``: data.positive_class, if set)."""
    if metrics.get("recall") != 0.0:  # regression has no recall
        return None
    weights = ("class_weight", "scale_pos_weight", "is_unbalance", "auto_class_weights")
    if not any(w in hyperparameters for w in weights):
        fix = (
            "set class_weight: balanced under model.hyperparameters in params.yaml (a model named by"
            " import path takes its own: XGBoost's scale_pos_weight, the negative rows per positive one)"
        )
    else:
        fix = "try model.estimator: hist_gradient_boosting, or more rows of the rarer class"
    which = f"{positive!r} row" if positive is not None else "row of the positive class"
    return f"the model predicts no {which} of the test split (recall 0): {fix}"


def headline(passed: bool, outcomes: list[r.Outcome] | list[dict[str, Any]], problems: int) -> str:
    """The verdict in a few words: the terminal's last line and the report's first say the same."""
    if not passed:
        return f"failed: {problems} problem(s)"
    warned = sum(1 for o in map(_outcome, outcomes) if o.status == r.WARN)
    return f"passed with {warned} warning(s)" if warned else "passed"


def _with_interval(value: float | None, low: float | None, high: float | None, sign: bool = False) -> str:
    shown = "–" if value is None else (f"{value:+.4g}" if sign else f"{value:.4g}")
    if low is None or high is None:
        return shown
    return f"{shown} [{low:+.4g}, {high:+.4g}]" if sign else f"{shown} [{low:.4g}, {high:.4g}]"


def _outcome(o: r.Outcome | dict[str, Any]) -> r.Outcome:
    return o if isinstance(o, r.Outcome) else r.Outcome(**o)


def _result(o: r.Outcome) -> str:
    return STATUS[o.status] + (f": {o.note}" if o.note and o.status != r.SKIP else "")


def _compared_with(o: r.Outcome) -> str:
    """The number a rule's value was set against: the base's, or the dummy baseline's."""
    return fmt(o.base_value) + (
        " (baseline)" if o.kind == "beat_baseline_by" and o.base_value is not None else ""
    )


def rule_table(outcomes: list[r.Outcome] | list[dict[str, Any]]) -> str:
    """Rules as a Markdown table: value and change with their intervals, and the verdict in words."""
    head = ["rule", "value [95% interval]", "threshold", "base", "change [95% interval]", "fails t / 2t"]
    lines = ["| " + " | ".join([*head, "compared", "result"]) + " |", "|---" * (len(head) + 2) + "|"]
    for o in map(_outcome, outcomes):
        change = _with_interval(o.delta, o.delta_low, o.delta_high, sign=True) if o.delta is not None else "–"
        lines.append(
            f"| {r.describe(o)} | {_with_interval(o.value, o.low, o.high)} | {fmt(o.threshold)}"
            f" | {_compared_with(o)} | {change} | {_power(o)} | {o.comparison or '–'}"
            f" | {_result(o)} |"
        )
    return "\n".join(lines)


def _power(o: r.Outcome) -> str:
    """How often a regression rule fails a true regression of its tolerance, and of twice it."""
    if o.fails_at_tolerance is None or o.fails_at_twice is None:
        return "–"
    return f"{o.fails_at_tolerance:.0%} / {o.fails_at_twice:.0%}"


def rule_lines(outcomes: list[r.Outcome]) -> list[str]:
    """Rules as aligned terminal lines, each with its verdict in words where there is one."""
    lines = []
    for o in outcomes:
        mark = {"pass": "pass", "fail": "FAIL", "skip": "skip", "warn": "WARN"}[o.status]
        extra = f"  [{o.note}]" if o.note else ""
        change = (
            f"  change={_with_interval(o.delta, o.delta_low, o.delta_high, sign=True)}"
            if o.delta is not None
            else ""
        )
        head = f"  {mark:4}  {r.describe(o):42} value={fmt(o.value):>8}"
        lines.append(f"{head}  threshold={fmt(o.threshold)}{change}{extra}")
    return lines


def pairing_line(document: dict[str, Any]) -> str:
    """How the base was compared, in one sentence."""
    p, ref = document["pairing"], document["base"]
    if p["mode"] == "paired":
        left = (
            f"; {p['rows_excluded']:,} left out because the base model trained on them"
            if p["rows_excluded"]
            else ""
        )
        return (
            f"Base: `{ref}` (commit {p['base_commit'][:10]}). Paired: both models scored the same"
            f" {p['rows_compared']:,} of this branch's {p['rows_test']:,} test rows{left}."
        )
    return f"Base: `{ref}`" + (f" — {document['note']}" if document.get("note") else "")


def verdict_lines(document: dict[str, Any]) -> list[str]:
    """The base, the pipeline and the lock, one line each (the terminal and the report share them)."""
    lines = [pairing_line(document).replace("`", "")]
    if document.get("rows"):
        lines.append(f"rows: {document['rows'].replace('`', '')}")
    if document.get("pipeline"):
        lines.append(f"pipeline: {document['pipeline']}")
    repro = document.get("reproducible")
    if repro is None and not document.get("pipeline") and not document.get("full_run"):
        lines.append("reproducibility: not checked (dvc repro did not finish)")
    elif repro:
        why = document.get("reproducible_advice") or "; ".join(repro)
        lines.append(
            f"reproducibility: the pipeline does not reproduce the committed dvc.lock: {why}"
            " (each difference: reports/gate.json)"
        )
    elif repro is not None:
        lines.append("reproducibility: the pipeline reproduces the committed dvc.lock")
    return lines


def diff_table(rows: list[tuple[str, str, Any, Any, Any]], title: str, ref: str) -> str:
    """Metrics or params that differ from ``ref``, as `dvc metrics diff --md` shows them."""
    if not rows:
        return "(no changes)"
    lines = [f"| Path | {title} | {ref} | workspace | Change |", "|---|---|---|---|---|"]
    lines += [f"| {path} | {name} | {_cell(a)} | {_cell(b)} | {_cell(d)} |" for path, name, a, b, d in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """A diff value: numbers to six significant digits, a dash for none, anything else as written."""
    if value is None:
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return str(value)


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
    document: dict[str, Any],
    task: str,
    diff_sections: dict[str, str] | None = None,
    slices: dict[str, Any] | None = None,
) -> str:
    """The Markdown gate report for CI summaries and pull-request comments."""
    outcomes = [_outcome(o) for o in document["rules"]]
    failed = [o for o in outcomes if o.status == r.FAIL]
    warned = [o for o in outcomes if o.status == r.WARN]
    problems = len(failed) + sum(bool(document.get(k)) for k in ("reproducible", "pipeline", "refused"))
    words = headline(document["passed"], outcomes, problems)
    head = f"✅ **Gate {words}**" if document["passed"] else f"❌ **Gate {words.replace(':', '**:', 1)}"
    parts = [GATE_MARKER, "## Model gate", head, pairing_line(document)]
    if document.get("rows"):
        parts.append(f"**Rows:** {document['rows']}.")
    if document.get("pipeline"):
        parts.append(f"**Pipeline:** {document['pipeline']}")
    repro = document.get("reproducible")
    if repro:
        listing = "\n".join(f"- {d}" for d in repro)
        parts.append(
            "**Reproducibility:** the pipeline does not reproduce the committed `dvc.lock`:"
            f" {document.get('reproducible_advice', '')}\n\n<details><summary>{len(repro)}"
            f" difference(s)</summary>\n\n{listing}\n\n</details>"
        )
    elif repro is not None:
        parts.append("Reproducibility: the pipeline reproduces the committed `dvc.lock`.")
    for title, group in (("Broken", failed), ("Warnings", warned)):
        if group:
            parts.append(
                f"{title}: "
                + "; ".join(f"`{r.describe(o)}` ({_evidence(o, document['base'])})" for o in group)
            )
    parts += ["### Rules", rule_table(outcomes), HOW_TO_READ]
    for title, text in (diff_sections or {}).items():
        parts += [f"### {title}", text]
    if slices and slices.get("by"):
        parts += ["### Slices", slice_table(slices, task)]
    return "\n\n".join(parts) + "\n"


def _evidence(o: r.Outcome, ref: str) -> str:
    shown = f"value {_with_interval(o.value, o.low, o.high)}, threshold {fmt(o.threshold)}"
    if o.kind == "max_regression" and o.base_value is not None:
        shown += f", {ref} {fmt(o.base_value)}"
        if o.delta is not None:
            shown += f", change {_with_interval(o.delta, o.delta_low, o.delta_high, sign=True)}"
    return shown


def summary_text(
    metrics: dict[str, Any],
    baseline: dict[str, Any],
    latency: dict[str, Any] | None,
    passed: bool | None,
) -> str:
    """Model against baseline, latency, then the gate verdict (what `make repro` prints last);
    ``passed`` None: this run reached no verdict, so none is shown as this run's."""
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
    if passed is None:
        lines.append(
            "gate: NOT RUN this time (dvc repro stopped first); the figures and metrics/gate.json are"
            " the last run's"
        )
    else:
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
        f"- Data: `{card['data']['source']}` (md5 {card['data']['raw_md5']}); {split['policy']} split"
        f" by {split.get('assignment', 'row position')}, seed {split['seed']}:"
        f" {split['rows_train']} train / {split['rows_test']} test rows",
        f"- Features: {len(card['features'])}; left out: {', '.join(card.get('left_out', {}))}",
        f"- Model file sha256 `{card['model_sha256']}`",
        f"- Gate: {gate_summary(card['gate'])}",
        "",
        "| metric | model | baseline |",
        "|---|---|---|",
        *rows,
        "",
        f"Largest gaps between slices: {gaps or '–'}",
    ]
    return "\n".join(lines)


def gate_summary(gate: dict[str, Any]) -> str:
    """A card's gate verdict in one line: against what, and how many rules passed, warned, skipped."""
    verdict = "passed" if gate.get("passed") else "FAILED"
    rules = gate.get("rules")
    if not isinstance(rules, list):  # cards released before every rule was recorded
        return f"{verdict} ({rules} rules)"
    counts = {s: sum(1 for o in rules if o["status"] == s) for s in ("pass", "warn", "skip", "fail")}
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    base = f" against {gate['base']}" if gate.get("base") else " (no earlier version to compare with)"
    forced = f"; released off the base branch: {gate['forced']}" if gate.get("forced") else ""
    return f"{verdict}{base}: {shown}{forced}"


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns, two spaces apart, for the terminal."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _shift_rows(document: dict[str, Any]) -> list[list[str]]:
    rows = []
    for shift in sorted(document["features"], key=lambda f: -f["psi"]):
        rows.append(
            [
                shift["name"],
                f"{shift['psi']:.3f}",
                f"{shift['q_value']:.2g}",
                f"{shift['null_share_reference']:.1%} → {shift['null_share']:.1%}",
                f"{shift['unseen_share']:.1%}",
                "DRIFT" if shift["drifted"] else "",
            ]
        )
    return rows


MONITOR_HEADER = ["feature", "PSI", "q (BH)", "nulls (train → batch)", "unseen", ""]


def monitor_text(document: dict[str, Any]) -> str:
    """The monitor's verdict for the terminal."""
    verdict = "all rules hold" if document["passed"] else "a rule broke"
    lines = [
        f"monitor: {document['rows']} rows of {document['input']} against {document['model']}: {verdict}",
        text_table(MONITOR_HEADER, _shift_rows(document)),
        f"score PSI {document['score']['psi']:.3f}",
        *rule_lines([_outcome(o) for o in document["rules"]]),
    ]
    return "\n".join(lines)


def monitor_markdown(document: dict[str, Any]) -> str:
    """The monitor's report as Markdown (a job summary, an issue, a pull request)."""
    if document["status"] == "contract":
        lines = [f"## Monitor: ❌ `{document['input']}` breaks the data contract of {document['model']}", ""]
        lines += ["| column | check | rows | examples |", "|---|---|---|---|"]
        lines += [
            f"| {f['column']} | {f['check']} | {f['count']} | {', '.join(f['examples'])} |"
            for f in document["failures"]
        ]
        return "\n".join(lines) + "\n"
    if document["status"] == "too_small":
        return f"## Monitor: ⏸ `{document['input']}` against {document['model']}: {document['reason']}\n"
    head = "✅ no rule broke" if document["passed"] else "❌ drift breaks a rule"
    settings = document["settings"]
    lines = [
        f"## Monitor: {head}",
        "",
        f"{document['rows']} rows of `{document['input']}` against {document['model']};"
        f" {document['labelled_rows']} with labels. A feature drifts when its PSI (corrected for"
        f" the batch's size) is at least {settings['psi_threshold']:g} and its two-sample test"
        f" against the training counts survives Benjamini-Hochberg at {settings['alpha']:g}.",
        "",
        rule_table(document["rules"]),
        "",
        "| " + " | ".join(h or "drift" for h in MONITOR_HEADER) + " |",
        "|" + "---|" * len(MONITOR_HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _shift_rows(document)]
    score = document["score"]
    lines += [
        "",
        f"Score PSI {score['psi']:.3f} (q {score['q_value']:.2g}){' DRIFT' if score['drifted'] else ''}.",
    ]
    return "\n".join(lines) + "\n"


def monitor_html(document: dict[str, Any], specs: list[dict[str, Any]], page: str) -> str:
    """The report as a page that opens offline: ``page`` is the plots template with Vega inlined."""
    import html
    import json

    blocks = [f"<pre>{html.escape(monitor_markdown(document))}</pre>"]
    for i, spec in enumerate(specs):
        data = json.dumps(spec).replace("</", "<\\/")  # a value holding "</script>" must not end the script
        blocks.append(
            f'<div id="drift{i}"></div><script>vegaEmbed("#drift{i}", {data}, {{"actions": false}});</script>'
        )
    if not specs:
        blocks.append("<p>No feature moved enough to chart.</p>")
    return (
        page.replace("{refresh_tag}", "", 1)
        .replace("{plot_divs}", "\n".join(blocks), 1)
        .replace("<title>Model plots</title>", "<title>Monitor</title>", 1)
    )
