"""Comment storage on the real PostgreSQL: one schema per prefix, built by the migrations `kabar bootstrap` runs."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harness.cleanup import drop_prefix
from shared.comments.tables import Base, Comment, Commenter, CommentReport, Status
from shared.db import make_engine, migrate, schema_name
from shared.settings import KabarSettings

TABLES = {
    "commenters",
    "comments",
    "comment_reports",
    "moderation_log",
    "comment_policies",
    "moderators",
    "alembic_version",
}


@pytest.fixture
def db(es: Elasticsearch, prefix: str) -> Iterator[Engine]:
    """The test session's prefix, bootstrapped by the `es` fixture (migrations included)."""
    engine = make_engine(KabarSettings(prefix=prefix), pool_size=2)
    yield engine
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE commenters, comments, comment_reports, moderation_log, comment_policies"))
    engine.dispose()


@pytest.fixture
def other_prefix() -> Iterator[str]:
    name = f"c{uuid.uuid4().hex[:8]}-x"  # with a dash: PostgreSQL names cannot hold one unquoted
    yield name
    drop_prefix(name)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _add(session: Session, *, article_uid: str = "a1", body: str = "Setuju!", parent: Comment | None = None) -> Comment:
    commenter = session.scalar(select(Commenter).where(Commenter.email_hash == _digest("pembaca@contoh.id")))
    if commenter is None:
        commenter = Commenter(newsroom="tempo", email_hash=_digest("pembaca@contoh.id"))
        session.add(commenter)
        session.flush()
    comment = Comment(
        submission_id=str(uuid.uuid4()),
        newsroom="tempo",
        article_uid=article_uid,
        parent_id=parent.id if parent else None,
        commenter_id=commenter.id,
        author_name="Pembaca",
        body=body,
        body_hash=_digest(body),
        address_hash=_digest("203.0.113.7"),
        status=Status.VISIBLE,
        status_by="rule:post-moderation",
    )
    session.add(comment)
    session.flush()
    return comment


def test_bootstrap_builds_the_prefix_schema_as_the_models_describe_it(db: Engine, prefix: str) -> None:
    inspector = inspect(db)
    assert inspector.default_schema_name == schema_name(prefix)
    assert set(inspector.get_table_names()) == TABLES
    with db.connect() as conn:
        # The migrations and the models agree: nothing for autogenerate to add, drop or change.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"


def test_migrating_again_and_from_two_deploys_at_once_is_safe(other_prefix: str) -> None:
    engine = make_engine(KabarSettings(prefix=other_prefix), pool_size=4)
    errors: list[BaseException] = []

    def deploy() -> None:
        try:
            migrate(engine, other_prefix)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=deploy) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    migrate(engine, other_prefix)
    try:
        assert errors == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_schema()")).scalar_one() == other_prefix.replace("-", "_")
            assert set(inspect(conn).get_table_names(schema=other_prefix.replace("-", "_"))) == TABLES
    finally:
        engine.dispose()


def test_prefixes_never_see_each_other_s_comments(db: Engine, other_prefix: str) -> None:
    other = make_engine(KabarSettings(prefix=other_prefix), pool_size=1)
    migrate(other, other_prefix)
    try:
        with Session(db) as session, session.begin():
            _add(session)
        with Session(other) as session:
            assert session.scalar(select(func.count()).select_from(Comment)) == 0
    finally:
        other.dispose()


def test_constraints_refuse_what_no_code_path_may_store(db: Engine) -> None:
    with Session(db) as session, session.begin():
        first = _add(session)
        submission = first.submission_id
    bad = [
        {"status": "published"},  # not a status
        {"body": ""},  # an empty comment
        {"submission_id": submission},  # the same submission twice (a redelivered task)
    ]
    for change in bad:
        with pytest.raises(IntegrityError), Session(db) as session, session.begin():
            comment = _add(session)
            for field, value in change.items():
                setattr(comment, field, value)
            session.flush()
    with pytest.raises(IntegrityError), Session(db) as session, session.begin():
        comment = _add(session)
        session.add(CommentReport(comment_id=comment.id, reason="boring", reporter_hash=_digest("x")))
        session.flush()
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 1


def test_deleting_a_comment_or_a_commenter_takes_replies_and_reports_with_it(db: Engine) -> None:
    with Session(db) as session, session.begin():
        top = _add(session)
        reply = _add(session, body="Balasan", parent=top)
        session.add(CommentReport(comment_id=reply.id, reason="spam", reporter_hash=_digest("203.0.113.9")))
        session.add(CommentReport(comment_id=top.id, reason="other", reporter_hash=_digest("203.0.113.9")))
        other_article = _add(session, article_uid="a2", body="Di artikel lain")
        top_id, commenter_id = top.id, other_article.commenter_id
    with Session(db) as session, session.begin():
        session.execute(Comment.__table__.delete().where(Comment.id == top_id))
    with Session(db) as session:
        assert session.scalars(select(Comment.body)).all() == ["Di artikel lain"]
        assert session.scalar(select(func.count()).select_from(CommentReport)) == 0
    # Erasing a commenter (a newsroom's erasure request) removes every comment they wrote.
    with Session(db) as session, session.begin():
        session.execute(Commenter.__table__.delete().where(Commenter.id == commenter_id))
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
