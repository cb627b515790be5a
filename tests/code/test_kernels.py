"""OpenBLAS's kernels pinned where the CPU could run either family, and only there."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipeline.kernels import KERNELS, VARIABLE, blas_kernels, cpu_flags, pin_blas_kernels


def test_the_avx2_family_is_pinned_only_on_x86_64_cpus_that_run_it(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f\n\nprocessor\t: 1\n")
    flags = cpu_flags(cpuinfo)
    assert {"avx2", "fma", "avx512f"} <= flags
    assert blas_kernels("x86_64", flags) == KERNELS
    assert blas_kernels("x86_64", {"sse2", "avx"}) is None  # would die on an illegal instruction
    assert blas_kernels("aarch64", flags) is None
    assert cpu_flags(tmp_path / "absent") == set()


def test_a_choice_already_made_is_kept() -> None:
    environ = {VARIABLE: "SkylakeX"}
    assert pin_blas_kernels(environ) == "SkylakeX" and environ == {VARIABLE: "SkylakeX"}


@pytest.mark.integration  # a fresh interpreter
def test_a_process_that_imports_the_package_first_loads_the_pinned_kernels() -> None:
    """What every stage and command does (the package before numpy): numpy's and scipy's OpenBLAS
    then run the pinned family, whatever this CPU would have chosen (SkylakeX on an AVX-512 one)."""
    expected = blas_kernels(platform.machine(), cpu_flags())
    if expected is None:
        pytest.skip("this CPU gets OpenBLAS's own choice (not x86-64 with AVX2)")
    code = (
        "import mlpipeline, numpy, scipy.linalg\n"
        "from threadpoolctl import threadpool_info\n"
        "print(sorted({i['architecture'] for i in threadpool_info() if i['internal_api'] == 'openblas'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == f"['{expected}']"
