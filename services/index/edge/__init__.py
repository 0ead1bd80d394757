"""The edge cache's side of the pipeline: purge a change's surrogate keys and install tombstones."""
