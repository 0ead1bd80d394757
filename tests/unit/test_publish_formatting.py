"""note_datetime formats from CLDR's month names directly (it runs once per comment on a page): it must say
exactly what Babel's "d MMMM y HH.mm" pattern says, in every month, in both locales."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from services.publish.formatting import note_datetime


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("month", range(1, 13))
def test_note_datetime_says_what_babel_says(locale: str, month: int) -> None:
    when = datetime(2026, month, 28, 18, 7, tzinfo=UTC)  # past midnight in Jakarta: the day moves on
    local = when.astimezone(ZoneInfo("Asia/Jakarta"))
    pattern = "d MMMM y HH.mm" if locale == "id" else "d MMMM y HH:mm"
    assert note_datetime(when, locale=locale) == f"{format_datetime(local, pattern, locale=locale)} WIB"
