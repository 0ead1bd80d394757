"""The moderation API (newsroom key, like the article routes): validate, call one service function, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from services.ingest.comments import service
from services.ingest.comments.deps import ApiModerationDep, SessionDep
from services.ingest.comments.schemas import (
    MAX_ID,
    SCOPE_PATTERN,
    BanIn,
    BanOut,
    BulkIn,
    BulkOut,
    CommentPage,
    Decided,
    DecisionIn,
    EraseIn,
    EraseOut,
    LogPage,
    PolicyIn,
    PolicyOut,
    Queue,
)
from services.ingest.deps import AuthenticatedRoute, NewsroomDep, SettingsDep
from services.ingest.routes import WRITE_RESPONSES
from shared.comments.keys import keyed_hash

router = APIRouter(prefix="/v1", tags=["comments"], route_class=AuthenticatedRoute)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: WRITE_RESPONSES[status] for status in (401, 413, 422, 429)},
    404: {**WRITE_RESPONSES[404], "description": "No such comment or commenter in this newsroom."},
    503: {
        **WRITE_RESPONSES[503],
        "description": "PostgreSQL or the broker is unavailable. Repeating the request is safe. See Retry-After.",
    },
}
CommentId = Annotated[int, Path(ge=1, le=MAX_ID)]
CommenterId = Annotated[int, Path(ge=1, le=MAX_ID)]
Scope = Annotated[str, Path(pattern=SCOPE_PATTERN, max_length=120, examples=["newsroom", "article:3f2a9c"])]
ArticleUid = Annotated[str, Path(pattern=r"^[^\s/\x00-\x1f]{1,64}$")]
Cursor = Annotated[str | None, Query(max_length=300)]
Limit = Annotated[int, Query(ge=1, le=200)]
OptionalDecision = Annotated[DecisionIn | None, Body()]


@router.get("/comments", response_model=CommentPage, responses=_RESPONSES)
def list_comments(
    session: SessionDep, newsroom: NewsroomDep, queue: Queue = "pending", cursor: Cursor = None, limit: Limit = 50
) -> CommentPage:
    """A moderation queue: `pending`, `withheld` (oldest first), `reported` (most reported first), `rejected`
    or `all` (newest first). Pass `next_cursor` back as `cursor` for the next page."""
    return service.list_queue(session=session, newsroom=newsroom.id, queue=queue, cursor=cursor, limit=limit)


@router.post("/comments/{comment_id}/approve", response_model=Decided, responses=_RESPONSES)
def approve_comment(comment_id: CommentId, m: ApiModerationDep, body: OptionalDecision = None) -> Decided:
    """Show a comment (and mark its reports handled); readers see it once the workers recount the thread."""
    return service.decide_one(m=m, action="approve", comment_id=comment_id, reason=body.reason if body else None)


@router.post("/comments/{comment_id}/reject", response_model=Decided, responses=_RESPONSES)
def reject_comment(comment_id: CommentId, m: ApiModerationDep, body: OptionalDecision = None) -> Decided:
    """Hide a comment for good (its replies stay, as Coral does)."""
    return service.decide_one(m=m, action="reject", comment_id=comment_id, reason=body.reason if body else None)


@router.post("/comments/moderate", response_model=BulkOut, responses=_RESPONSES)
def moderate_comments(body: BulkIn, m: ApiModerationDep) -> BulkOut:
    """Approve or reject up to 500 comments at once; an id this newsroom does not have is `not_found`."""
    items = service.decide(m=m, action=body.action, ids=body.ids, reason=body.reason)
    return BulkOut(
        items=items,
        changed=sum(i.result in ("approved", "rejected") for i in items),
        unchanged=sum(i.result == "unchanged" for i in items),
        not_found=sum(i.result == "not_found" for i in items),
    )


@router.post("/commenters/{commenter_id}/ban", response_model=BanOut, responses=_RESPONSES)
def ban_commenter(
    commenter_id: CommenterId, m: ApiModerationDep, body: Annotated[BanIn | None, Body()] = None
) -> BanOut:
    """Refuse a commenter's future comments and reject their pending and withheld ones (shown ones with
    `reject_shown`)."""
    body = body or BanIn()
    return service.ban(m=m, commenter_id=commenter_id, reason=body.reason, reject_shown=body.reject_shown)


@router.delete("/commenters/{commenter_id}/ban", response_model=BanOut, responses=_RESPONSES)
def unban_commenter(commenter_id: CommenterId, m: ApiModerationDep) -> BanOut:
    """Lift a ban; comments it rejected stay rejected."""
    return service.unban(m=m, commenter_id=commenter_id, reason=None)


@router.delete("/commenters/{commenter_id}", response_model=EraseOut, responses=_RESPONSES)
def erase_commenter(commenter_id: CommenterId, m: ApiModerationDep) -> EraseOut:
    """Erase a commenter: their record, comments (with replies to them) and reports. The audit log keeps ids."""
    return service.erase(m=m, commenter_id=commenter_id, reason=None)


@router.post("/commenters/erase", response_model=EraseOut, responses=_RESPONSES)
def erase_commenter_by_email(body: EraseIn, m: ApiModerationDep, settings: SettingsDep) -> EraseOut:
    """Erase the commenter who used this email (a reader's erasure request); `erased: false` if none did."""
    email_hash = bytes.fromhex(keyed_hash(settings.comment_hash_key, "email", body.email))
    return service.erase_by_email(m=m, email_hash=email_hash, reason=body.reason)


@router.get("/comment-policies/{scope}", response_model=PolicyOut, responses=_RESPONSES)
def get_policy(scope: Scope, session: SessionDep, newsroom: NewsroomDep) -> PolicyOut:
    """The settings stored at `newsroom`, `section:<slug>` or `article:<uid>`; null fields are inherited."""
    return service.get_policy(session=session, newsroom=newsroom.id, scope=scope)


@router.put("/comment-policies/{scope}", response_model=PolicyOut, responses=_RESPONSES)
def put_policy(scope: Scope, body: PolicyIn, m: ApiModerationDep) -> PolicyOut:
    """Replace the settings at one scope: mode (pre/post), closed, close_after_days (0: never), banned_words."""
    return service.put_policy(m=m, scope=scope, body=body)


@router.post("/comment-threads/{article_uid}/close", response_model=PolicyOut, responses=_RESPONSES)
def close_thread(article_uid: ArticleUid, m: ApiModerationDep, body: OptionalDecision = None) -> PolicyOut:
    """Close one article's comments (its `article:<uid>` policy); shown comments stay."""
    reason = body.reason if body else None
    return service.set_thread_closed(m=m, article_uid=article_uid, closed=True, reason=reason)


@router.post("/comment-threads/{article_uid}/open", response_model=PolicyOut, responses=_RESPONSES)
def open_thread(article_uid: ArticleUid, m: ApiModerationDep, body: OptionalDecision = None) -> PolicyOut:
    """Reopen one article's comments (the closing age still applies)."""
    reason = body.reason if body else None
    return service.set_thread_closed(m=m, article_uid=article_uid, closed=False, reason=reason)


@router.get("/moderation-log", response_model=LogPage, responses=_RESPONSES)
def moderation_log(
    session: SessionDep,
    newsroom: NewsroomDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    comment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    commenter_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> LogPage:
    """Every decision, newest first: who (`api:<newsroom>`, `moderator:<name>`, `rule:<name>`), when, why."""
    return service.list_log(
        session=session,
        newsroom=newsroom.id,
        cursor=cursor,
        limit=limit,
        comment_id=comment_id,
        commenter_id=commenter_id,
    )
