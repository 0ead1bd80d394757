"""Reader comments: commenters, comments, reports, the moderation log and comment policies.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column[object]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "commenters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("newsroom", sa.String(64), nullable=False),
        sa.Column("email_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("approved_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_commenters"),
        sa.UniqueConstraint("newsroom", "email_hash", name="uq_commenters_newsroom_email_hash"),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("submission_id", sa.String(36), nullable=False),
        sa.Column("newsroom", sa.String(64), nullable=False),
        sa.Column("article_uid", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("commenter_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("address_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_by", sa.String(80), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("report_count", sa.Integer(), server_default="0", nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            "status IN ('visible', 'pending', 'approved', 'rejected', 'withheld')", name="ck_comments_status"
        ),
        sa.CheckConstraint("char_length(body) > 0", name="ck_comments_body"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["comments.id"], name="fk_comments_parent_id_comments", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"], ["commenters.id"], name="fk_comments_commenter_id_commenters", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.UniqueConstraint("submission_id", name="uq_comments_submission_id"),
    )
    op.create_index(
        "ix_comments_article_uid_status_created_at_id", "comments", ["article_uid", "status", "created_at", "id"]
    )
    op.create_index("ix_comments_newsroom_status_created_at", "comments", ["newsroom", "status", "created_at"])
    op.create_index("ix_comments_commenter_id_created_at", "comments", ["commenter_id", "created_at"])
    op.create_index("ix_comments_address_hash_created_at", "comments", ["address_hash", "created_at"])
    op.create_index("ix_comments_newsroom_body_hash", "comments", ["newsroom", "body_hash"])
    op.create_table(
        "comment_reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("reporter_hash", sa.LargeBinary(32), nullable=False),
        *_stamps(),
        sa.CheckConstraint("reason IN ('offensive', 'abusive', 'spam', 'other')", name="ck_comment_reports_reason"),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name="fk_comment_reports_comment_id_comments", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_comment_reports"),
        sa.UniqueConstraint("comment_id", "reporter_hash", name="uq_comment_reports_comment_id_reporter_hash"),
    )
    op.create_index("ix_comment_reports_comment_id", "comment_reports", ["comment_id"])
    op.create_table(
        "moderation_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("newsroom", sa.String(64), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("commenter_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_log"),
    )
    op.create_index("ix_moderation_log_newsroom_at", "moderation_log", ["newsroom", "at"])
    op.create_index("ix_moderation_log_comment_id", "moderation_log", ["comment_id"])
    op.create_table(
        "comment_policies",
        sa.Column("newsroom", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("mode", sa.String(4), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=True),
        sa.Column("close_after_days", sa.Integer(), nullable=True),
        sa.Column("banned_words", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("mode IS NULL OR mode IN ('pre', 'post')", name="ck_comment_policies_mode"),
        sa.PrimaryKeyConstraint("newsroom", "scope", name="pk_comment_policies"),
    )


def downgrade() -> None:
    for table in ("comment_policies", "moderation_log", "comment_reports", "comments", "commenters"):
        op.drop_table(table)
