"""Why a comment form was refused: each is a 4xx page in the reader's language (a message key of i18n)."""

from __future__ import annotations

from shared.errors import KabarError


class CommentRefused(KabarError):
    """The detail is an i18n message key (`comment_error_<detail>`), shown on the refusal page."""


class BadForm(CommentRefused):
    status, title, type_slug = 400, "Bad comment form", "comment-bad-form"


class NotAPerson(CommentRefused):
    """No CSRF token, a failed or missing proof of work, a wrong answer."""

    status, title, type_slug = 403, "Comment refused", "comment-refused"


class Replayed(NotAPerson):
    pass


class FormExpired(CommentRefused):
    status, title, type_slug = 403, "Comment form expired", "comment-form-expired"


class ThreadClosed(CommentRefused):
    status, title, type_slug = 403, "Comments closed", "comment-closed"


class CommentsUnavailable(CommentRefused):
    """PostgreSQL or the broker cannot take the comment now: nothing was accepted, the reader may retry."""

    status, title, type_slug = 503, "Comments unavailable", "comment-unavailable"
