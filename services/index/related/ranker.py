"""The learned reranker: a LightGBM lambdarank model trained on editors' "Baca juga" links.

The model is a versioned text file built by `kabar related train` (see docs/related.md) and shipped in
this package; the related workers load it once per process. Without it (or with a model whose features
do not match this code's) ranking falls back to TF-IDF cosine with a gentle recency factor.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import structlog

from services.index.related.features import FEATURES, fallback_scores

log = structlog.get_logger()

MODEL_VERSION = 2
DEFAULT_MODEL = Path(__file__).parent / "models" / f"ranker-v{MODEL_VERSION}.txt"


class Ranker:
    """Scores feature rows (features.FEATURES order); higher is more related."""

    def __init__(self, booster: object | None = None, *, name: str = "fallback") -> None:
        self._booster = booster
        self.name = name

    @property
    def learned(self) -> bool:
        return self._booster is not None

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        if self._booster is None:
            return fallback_scores([list(r) for r in rows])
        import numpy as np  # the model's own dependency; the fallback needs neither

        # One thread: a list has ~60 rows, and waking OpenMP's pool cost more than the trees (measured).
        scores = self._booster.predict(np.asarray(rows, dtype=np.float64), num_threads=1)  # type: ignore[attr-defined]
        return [float(s) for s in scores]


FALLBACK = Ranker()


def load(path: Path | str | None) -> Ranker:
    """The model at `path` ("" or None: the shipped one; "none": the plain fallback)."""
    if path is not None and str(path).lower() == "none":
        return FALLBACK
    target = Path(path) if path else DEFAULT_MODEL
    if not target.is_file():
        log.warning("related.model_missing", path=str(target))
        return FALLBACK
    import lightgbm

    booster = lightgbm.Booster(model_file=str(target))
    if booster.feature_name() != FEATURES:
        log.warning("related.model_features_mismatch", path=str(target), model=booster.feature_name())
        return FALLBACK
    return Ranker(booster, name=target.name)


@functools.cache
def shared(path: str = "") -> Ranker:
    """One ranker per process and path (workers score many lists with one model)."""
    return load(path or None)
