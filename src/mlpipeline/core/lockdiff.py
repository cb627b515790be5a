"""What differs between two dvc.lock files, and what a person should do about it.

The reproducibility check (`make ci`, `reprocheck`) compares the committed lock with the one the
pipeline produced. A difference has two very different causes: the lock was committed before an
input changed (the routine's `make repro` was skipped: rerun and commit), or the same inputs gave
other outputs (a nondeterministic step, another platform). The advice says which.
"""

from __future__ import annotations

from typing import Any

from mlpipeline.layout import machine_specific


def _entries(stage: dict[str, Any]) -> dict[str, Any]:
    """Hash of every dep and out of a stage, plus its params, skipping machine-specific files
    (timings, and the environment that trained the model)."""
    found: dict[str, Any] = {}
    for kind in ("deps", "outs"):
        for item in stage.get(kind, []):
            if machine_specific(item["path"]):
                continue
            found[f"{kind[:-1]} {item['path']}"] = item.get("md5")
    for file, values in (stage.get("params") or {}).items():
        for key, value in values.items():
            found[f"param {file}:{key}"] = value
    found["cmd"] = stage.get("cmd")
    return found


def differences(committed: dict[str, Any], produced: dict[str, Any]) -> list[str]:
    """Human-readable differences between two parsed lock files."""
    out = []
    old_stages, new_stages = committed.get("stages", {}), produced.get("stages", {})
    for name in sorted(set(old_stages) | set(new_stages)):
        if name not in old_stages or name not in new_stages:
            out.append(
                f"stage '{name}' is only in the {'produced' if name in new_stages else 'committed'} lock"
            )
            continue
        old, new = _entries(old_stages[name]), _entries(new_stages[name])
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                out.append(f"{name}: {key}: committed {old.get(key)!r}, produced {new.get(key)!r}")
    return out


def _leaves(prefix: str, value: Any) -> dict[str, Any]:
    """A nested param as dotted leaves: ``model.hyperparameters.C: 0.5``."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, inner in value.items():
            found.update(_leaves(f"{prefix}.{key}", inner))
        return found
    return {prefix: value}


def changed_inputs(committed: dict[str, Any], produced: dict[str, Any]) -> list[str]:
    """What a person changed: params (as dotted keys, old → new) and files no stage writes (code,
    raw data, the contract). Outputs of one stage read by the next are effects, not causes."""
    stages = {**committed.get("stages", {}), **produced.get("stages", {})}
    written = {o["path"] for s in stages.values() for o in s.get("outs", [])}
    found: dict[str, None] = {}
    for name in sorted(set(committed.get("stages", {})) & set(produced.get("stages", {}))):
        old, new = committed["stages"][name], produced["stages"][name]
        old_deps = {d["path"]: d.get("md5") for d in old.get("deps", [])}
        for dep in new.get("deps", []):
            if dep["path"] not in written and old_deps.get(dep["path"]) != dep.get("md5"):
                found[dep["path"]] = None
        for file, values in (new.get("params") or {}).items():
            before = (old.get("params") or {}).get(file, {})
            now, then = _leaves("", values), _leaves("", before)
            for key in sorted(set(now) | set(then)):
                old_value, new_value = then.get(key), now.get(key)
                if old_value != new_value:
                    scalar = not isinstance(old_value, list | dict) and not isinstance(new_value, list | dict)
                    found[f"{key[1:]} ({old_value!r} → {new_value!r})" if scalar else f"{key[1:]}"] = None
    return list(found)


def git_add(paths: list[str]) -> str:
    """`git add ...` for ``paths``, a folder standing for its files where it holds two or more."""
    tops = [p.split("/", 1)[0] for p in paths if "/" in p]
    shown = {
        p.split("/", 1)[0] if "/" in p and tops.count(p.split("/", 1)[0]) > 1 else p: None for p in paths
    }
    return "git add " + " ".join(shown)


def advice(committed: dict[str, Any], produced: dict[str, Any], to_commit: list[str]) -> str:
    """One sentence: why the lock differs and what to run (``to_commit``: the committed files the
    pipeline changed in this checkout, which the person should commit)."""
    inputs = changed_inputs(committed, produced)
    if inputs:
        shown = ", ".join(inputs[:4]) + (f" and {len(inputs) - 4} more" if len(inputs) > 4 else "")
        add = git_add(to_commit) if to_commit else "git add dvc.lock metrics models"
        return (
            f"dvc.lock was committed before these changed: {shown}. The routine is edit, `make repro`,"
            f" commit, `make push`, `make ci`: commit what the pipeline changed ({add} && git commit),"
            " `make push`, then run `make ci` again"
        )
    changed = [d.split(": ", 2)[1] for d in differences(committed, produced) if d.count(": ") >= 2]
    return (
        f"the same inputs gave other outputs ({', '.join(dict.fromkeys(changed))}): a step is not"
        " deterministic, or this machine computes differently (docs/explanation/reproducibility.md)"
    )
