"""The one place an applied (or released) change is handed to every outside notifier.

Called inline by the indexing and embargo-release tasks, after the change is applied and the caches are
purged. Each notifier only records and enqueues (a Redis pipeline, a task on the notify queue): the
deliveries themselves run on the notify queue, so a slow or dead subscriber never delays indexing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from services.index.notify import indexnow, webhooks, websub
from shared.events import ArticleChange

if TYPE_CHECKING:
    from services.index.taskbase import KabarTask

Notifier = Callable[["KabarTask", list[ArticleChange]], None]

# Each notifier module adds itself here, in the order they are told.
NOTIFIERS: tuple[Notifier, ...] = (webhooks.notify, websub.notify_changes, indexnow.notify_changes)


def after_changes(task: KabarTask, changes: list[ArticleChange]) -> None:
    """Hand the batch's visible changes (in the order applied) to every notifier."""
    if not changes:
        return
    for notifier in NOTIFIERS:
        notifier(task, changes)
