"""One choice of OpenBLAS kernels on every x86-64 machine, so a model's bytes do not depend on the
CPU that trained it.

OpenBLAS (under numpy and scipy) picks its kernels by the CPU it finds: AVX-512 ones on one machine,
AVX2 ones on another. They add in different orders, so the same training run ends a few 1e-12 apart
and the model file's hash differs between a laptop and a CI runner: measured on the sample, the
logistic regression's coefficients 1.9e-12 apart, and `dvc repro` on the runner then contradicts
the committed dvc.lock. Pinned to the AVX2 (Haswell) family, which every x86-64 CPU with AVX2 and
FMA runs, the bytes agree. OpenBLAS reads the choice once, when it loads, so it is made before
numpy is imported; a value the user set is kept.
"""

from __future__ import annotations

import os
import platform
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "OPENBLAS_CORETYPE"
KERNELS = "Haswell"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags as Linux lists them; empty elsewhere."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def blas_kernels(machine: str, flags: set[str]) -> str | None:
    """The OpenBLAS kernel family to pin on this machine, or None to leave OpenBLAS its choice (a
    CPU without AVX2 could not run the pinned family; an ARM one has no such split)."""
    return KERNELS if machine in ("x86_64", "AMD64") and {"avx2", "fma"} <= flags else None


def pin_blas_kernels(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Set ``OPENBLAS_CORETYPE`` for this process and its children unless it is set; the value in
    force, or None."""
    if VARIABLE not in environ:
        kernels = blas_kernels(platform.machine(), cpu_flags())
        if kernels is not None:
            environ[VARIABLE] = kernels
    return environ.get(VARIABLE)
