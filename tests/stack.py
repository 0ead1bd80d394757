"""Kabar's own processes for tests: the development harness's, under the names tests have always imported."""

from harness.procs import ROOT, Proc, free_port, operator_url, start_api, start_worker, wait_until

__all__ = ["EVERY_DEAD_LETTER", "ROOT", "Proc", "free_port", "operator_url", "start_api", "start_worker", "wait_until"]

# A limit for listing or replaying a dead-letter queue that takes every letter in it. Tests share a prefix's
# queue with earlier tests (and with their delayed tasks that died since), so the operator's defaults (20
# listed, 100 replayed a run) can leave a test's own letter, or some of a batch it must drain, behind.
EVERY_DEAD_LETTER = 10_000
