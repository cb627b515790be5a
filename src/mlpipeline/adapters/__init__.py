"""Every side effect: files written atomically, CSV and Parquet, git, dvc and gto."""
