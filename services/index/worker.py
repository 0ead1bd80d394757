"""Entry point for `celery -A services.index.worker worker`; only the worker CLI imports this module."""

import os
import tempfile

# Prefork children write metrics to files the main process aggregates; prometheus_client reads this
# variable when first imported, so it is set before anything imports it.
if os.environ.get("KABAR_WORKER_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kabar-worker-metrics-")

from services.index.celery_app import create_celery

app = create_celery()
