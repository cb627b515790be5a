"""A reproducible, CI-gated DVC pipeline for tabular machine learning."""

from mlpipeline.kernels import pin_blas_kernels

__version__ = "0.1.0"

# Here, because every process of the pipeline (a stage, a command, a Dask worker, the service)
# imports this package before it imports numpy, and OpenBLAS reads its kernels once, as it loads.
pin_blas_kernels()
