"""Index: Celery workers that keep Elasticsearch and the related-link lists up to date."""
