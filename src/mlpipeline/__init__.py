"""A reproducible, CI-gated DVC pipeline for tabular machine learning."""

__version__ = "0.1.0"
