"""Ingest: the newsroom API. A 2xx means RabbitMQ confirmed a persistent message: never lost."""
