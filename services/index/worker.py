"""Entry point for `celery -A services.index.worker worker`; only the worker CLI imports this module."""

from services.index.celery_app import create_celery

app = create_celery()
