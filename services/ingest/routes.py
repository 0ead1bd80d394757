"""Newsroom API routes: validate, call one service function, return."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.ingest import service
from services.ingest.deps import NewsroomDep, PublisherDep, StoreDep
from services.ingest.schemas import AcceptedArticle
from shared.errors import NotFound
from shared.models import ArticleIn, article_uid

router = APIRouter(prefix="/v1", tags=["articles"])


@router.post("/articles", status_code=202, response_model=AcceptedArticle)
def create_article(
    article: ArticleIn,
    request: Request,
    response: Response,
    newsroom: NewsroomDep,
    store: StoreDep,
    publisher: PublisherDep,
) -> AcceptedArticle:
    """Create or replace an article (keyed by newsroom + external_id)."""
    answer = service.accept_article(
        store=store,
        publisher=publisher,
        newsroom=newsroom.id,
        article=article,
        request_id=request.headers.get("x-request-id"),
    )
    if answer.result == "unchanged":
        response.status_code = 200
    return answer


@router.get("/articles/{external_id:path}")
def get_article(external_id: str, newsroom: NewsroomDep, store: StoreDep) -> dict[str, object]:
    """The stored state of one of this newsroom's articles."""
    state = store.get(article_uid(newsroom.id, external_id))
    if not state.exists or state.fields.get("newsroom") != newsroom.id:
        raise NotFound(f"No article {external_id!r} for this newsroom.")
    return state.as_dict()
