"""Kabar's services: ingest (newsroom API), index (Celery workers), publish (reader side)."""
