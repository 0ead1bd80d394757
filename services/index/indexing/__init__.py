"""Indexing: article events into Elasticsearch (tasks, the indexer, backfills, reindex, state rebuild)."""
