"""Model registry: thin wrappers over GTO (git tags) for release, promote, rollback and listing.

A release is the annotated tag ``model@vX.Y.Z`` on the commit that trained the model; its message
is the model card (Markdown for people, a JSON block for machines), so the card survives with the
version. Stages are GTO assignment tags ``model#<stage>#N``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mlpipeline.adapters import gto, processes
from mlpipeline.adapters.files import file_md5
from mlpipeline.adapters.gitref import locked_md5, ref_exists
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import versions as versions_mod
from mlpipeline.core.report import card_markdown, text_table
from mlpipeline.core.versions import ARTIFACT, Version, card_message, holders, next_version, semver
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def find_version(root: Path, name: str) -> Version:
    """The registered version ``name``, or a clear error listing the ones there are."""
    return versions_mod.find(gto.versions(root), name)


def stage_of(root: Path, stage: str) -> str | None:
    """The version that holds ``stage`` now."""
    found = holders(gto.stage_events(root), stage)
    return found[0] if found else None


# ---- writing the registry -----------------------------------------------------------------------


def committed_json(root: Path, path: Path) -> dict[str, Any] | None:
    """A JSON file as committed at HEAD."""
    text = gto.git(root, "show", f"HEAD:{path.as_posix()}", check=False)
    return json.loads(text) if text else None


def release_checks(root: Path, layout: Layout) -> tuple[dict[str, Any], dict[str, Any]]:
    """Refuse a release from a dirty tree, a failed committed gate or stale outputs; return the
    committed card and gate verdict."""
    dirty = [line for line in gto.git(root, "status", "--porcelain").splitlines() if line.strip()]
    if dirty:
        files = ", ".join(line[3:] for line in dirty[:5])  # porcelain: 2 status columns, a space
        raise PipelineError(f"the working tree is not clean ({files}); commit or stash first, then release")
    rel = {name: getattr(layout, name).relative_to(root) for name in ("gate", "gate_latency", "model_card")}
    gate = committed_json(root, rel["gate"])
    timing = committed_json(root, rel["gate_latency"]) or {"passed": True, "rules": []}
    if gate is None:
        raise PipelineError(f"{rel['gate']} is not committed: run `make repro` and commit its results")
    if not (gate["passed"] and timing["passed"]):
        failed = [
            r["metric"] + " " + r["kind"] for r in gate["rules"] + timing["rules"] if r["status"] == "fail"
        ]
        raise PipelineError(f"the committed gate verdict failed ({'; '.join(failed)}); nothing released")
    model_rel = layout.model.relative_to(root).as_posix()
    expected = locked_md5(root, "HEAD", model_rel)
    if expected is None or not layout.model.exists() or file_md5(layout.model) != expected:
        raise PipelineError(
            f"{model_rel} is missing or does not match dvc.lock: `.venv/bin/dvc checkout` restores it"
            " from the local cache, `.venv/bin/dvc pull` from the remote, `make repro` rebuilds it"
        )
    card = committed_json(root, rel["model_card"])
    if card is None:
        raise PipelineError(f"{rel['model_card']} is not committed: run `make repro` and commit its results")
    return card, gate


def on_branch(root: Path, branch: str) -> bool:
    """True when HEAD is ``branch``'s tip or one of its ancestors."""
    if not ref_exists(root, branch):
        return False
    return processes.run(root, "git", "merge-base", "--is-ancestor", "HEAD", branch).returncode == 0


def full_gate(
    settings: Settings, layout: Layout, known: list[Version], forced: str, allow_unpaired: str = ""
) -> dict[str, Any]:
    """What `make ci` decides, with the latest released version as the base; refuse on a breach.

    Every rule is recorded, skipped ones as skipped, so the card never claims more than was checked.
    A base whose model cannot be restored (a remote without credentials, a cache without it) is
    refused unless ``allow_unpaired`` gives the reason: recorded figures on other rows are not the
    judgement the release gate promises.
    """
    # Imported here: the gate loads scikit-learn and pandas (seconds), which promote, rollback and
    # `make models` never need.
    from mlpipeline.commands import ci_gate

    base = f"{ARTIFACT}@{known[-1].name}" if known else None
    judged = ci_gate.judge(settings, layout, base)
    document = judged.as_dict()
    if judged.pairing.mode == "unpaired" and not allow_unpaired:
        raise PipelineError(
            f"release: {base}'s model could not be restored, so the gate could not compare both models"
            f" on the same rows ({judged.pairing.reason}); give this job the DVC remote's credentials"
            " and run `.venv/bin/dvc pull`, or release on recorded figures: make release ALLOW_UNPAIRED='why'"
        )
    if not judged.passed:
        raise PipelineError(
            f"the full gate against {base or 'no base'} failed ({'; '.join(judged.problems)});"
            " nothing released. `make ci BASE=<ref>` shows the report"
        )
    return {
        "passed": True,
        "base": base,
        "note": judged.note,
        "pairing": document["pairing"],
        "rules": document["rules"],
        "forced": forced or None,
        "unpaired_allowed": allow_unpaired or None,
    }


def build_card(
    settings: Settings, layout: Layout, card: dict[str, Any], gate: dict[str, Any], version: str, notes: str
) -> dict[str, Any]:
    """Everything that answers 'what is this model?'."""
    root = layout.root
    slices = committed_json(root, layout.slices.relative_to(root)) or {}
    return {
        "artifact": ARTIFACT,
        "version": version,
        "training_commit": gto.git(root, "rev-parse", "HEAD").strip(),
        "description": settings.registry.description,
        "owner": settings.registry.owner,
        "notes": notes,
        **card,
        "metrics": committed_json(root, layout.metrics.relative_to(root)),
        "baseline": committed_json(root, layout.baseline.relative_to(root)),
        "slice_gaps": slices.get("gaps", {}),
        "environment": committed_json(root, layout.environment.relative_to(root)) or {},
        "gate": gate,
    }


def release(
    root: Path,
    notes: str = "",
    version: str | None = None,
    push: bool = False,
    forced: str = "",
    allow_unpaired: str = "",
) -> str | None:
    """Register the model at HEAD as a new version; None when it equals the latest version's.

    Only from the base branch (``gate.base``) unless ``forced`` gives the reason, which the card
    keeps; only when the full gate against the latest version passes.
    """
    layout = Layout(root)
    settings = load_settings(layout.params)
    card, _ = release_checks(root, layout)
    branch = settings.gate.base
    if not forced and not on_branch(root, branch):
        raise PipelineError(
            f"HEAD is not on {branch} (gate.base in params.yaml): releases come from there, after the"
            f" pull request's gate; to release anyway, give the reason: make release FORCE='why'"
        )
    known = gto.versions(root)
    latest = known[-1] if known else None
    if latest and latest.card and latest.card.get("model_sha256") == card["model_sha256"] and version is None:
        print(f"release: the model at HEAD is {latest.name}'s (same sha256); nothing to release")
        return None
    version = version or next_version(known)
    semver(version)
    if any(v.name == version for v in known):
        raise PipelineError(f"version {version} is already registered; choose another VERSION")
    gate = full_gate(settings, layout, known, forced, allow_unpaired)
    full = build_card(settings, layout, card, gate, version, notes or settings.registry.notes)
    gto.register(root, version, card_message(card_markdown(full), full), push)
    print(f"release: registered {ARTIFACT} {version} at {full['training_commit'][:10]}")
    return version


def promote(root: Path, version: str, stage: str, push: bool = False) -> None:
    """Assign ``stage`` to ``version``, refusing a version without a passing gate."""
    settings = load_settings(Layout(root).params)
    allowed = settings.registry.stages
    if stage not in allowed:
        raise PipelineError(f"stage '{stage}' is not in registry.stages of params.yaml: {', '.join(allowed)}")
    found = find_version(root, version)
    if not found.card or not found.card.get("gate", {}).get("passed"):
        raise PipelineError(f"{version} has no passing gate verdict in its card; it cannot be promoted")
    if stage_of(root, stage) == version:
        print(f"promote: {version} already holds {stage}")
        return
    gto.assign(root, version, stage, push)
    print(f"promote: {ARTIFACT} {version} → {stage}")


def rollback(root: Path, stage: str, push: bool = False) -> str:
    """Give ``stage`` back to the version that held it before the current one."""
    previous = holders(gto.stage_events(root), stage)
    if not previous:
        raise PipelineError(f"no version holds '{stage}'; nothing to roll back")
    if len(previous) < 2:
        raise PipelineError(f"{previous[0]} is the only version that held '{stage}'; nothing to roll back to")
    current, earlier = previous[0], previous[1]
    gto.assign(root, earlier, stage, push)
    # GTO can list every version ever assigned to a stage (e.g. `gto show --vs -1`, or sorted by
    # semver, where the newer version would still win): withdraw the current one explicitly.
    gto.withdraw(root, current, stage, push)
    print(f"rollback: {stage} is {earlier} again (was {current})")
    return earlier


def table(root: Path) -> str:
    """Versions, stages, headline metrics and notes."""
    known = gto.versions(root)
    if not known:
        return "no model versions yet: `make release` registers the model at HEAD"
    events = gto.stage_events(root)
    stages_by_version: dict[str, list[str]] = {}
    for stage in sorted({e[3] for e in events}):
        current = holders(events, stage)
        if current:
            stages_by_version.setdefault(current[0], []).append(stage)
    header = ["version", "stages", "commit", "gate", "metrics", "notes"]
    rows = []
    for v in reversed(known):
        card = v.card or {}
        metrics = card.get("metrics") or {}
        shown = ", ".join(
            f"{k} {metrics[k]:.3f}" for k in ("f1", "roc_auc", "r2", "mae") if metrics.get(k) is not None
        )
        gate = "pass" if card.get("gate", {}).get("passed") else ("–" if not card else "FAIL")
        rows.append(
            [
                v.name,
                ", ".join(stages_by_version.get(v.name, [])) or "–",
                v.commit[:10],
                gate,
                shown or "–",
                (card.get("notes") or "")[:50],
            ]
        )
    return text_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    """release | promote | rollback | models | which | card."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="register the model at HEAD as a new version")
    p.add_argument("--notes", default="")
    p.add_argument("--version")
    p.add_argument("--push", action="store_true")
    p.add_argument("--force-reason", default="", help="release off the base branch, for this reason")
    p.add_argument(
        "--allow-unpaired",
        default="",
        help="release when the last version's model cannot be restored, for this reason",
    )
    p = sub.add_parser("promote", help="assign a stage to a version")
    p.add_argument("--version", required=True)
    p.add_argument("--stage", required=True)
    p.add_argument("--push", action="store_true")
    p = sub.add_parser("rollback", help="give a stage back to its previous version")
    p.add_argument("--stage", required=True)
    p.add_argument("--push", action="store_true")
    sub.add_parser("models", help="list versions, stages and metrics")
    p = sub.add_parser("which", help="print the version that holds a stage (nothing if none)")
    p.add_argument("--stage", required=True)
    p = sub.add_parser("card", help="print a version's model card")
    p.add_argument("--version", required=True)
    args = parser.parse_args(argv)
    root = Path()
    if args.command == "release":
        release(root, args.notes, args.version or None, args.push, args.force_reason, args.allow_unpaired)
    elif args.command == "promote":
        promote(root, args.version, args.stage, args.push)
    elif args.command == "rollback":
        rollback(root, args.stage, args.push)
    elif args.command == "models":
        print(table(root))
    elif args.command == "which":
        print(stage_of(root, args.stage) or "")
    else:
        found = find_version(root, args.version)
        if not found.card:
            raise PipelineError(f"{args.version} has no model card (registered outside `make release`?)")
        print(card_markdown(found.card))
    return 0


if __name__ == "__main__":
    run_main(main)
