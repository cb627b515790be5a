# The package first, before anything imports numpy: it pins OpenBLAS's kernels (kernels.py), so
# what the tests train in their own process has the bytes a stage's process gives.
import mlpipeline  # noqa: F401
