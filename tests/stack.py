"""Kabar's own processes for tests: the development harness's, under the names tests have always imported."""

from harness.procs import ROOT, Proc, free_port, operator_url, start_api, start_worker, wait_until

__all__ = ["ROOT", "Proc", "free_port", "operator_url", "start_api", "start_worker", "wait_until"]
