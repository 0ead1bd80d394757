"""Dependencies for publish routes: clients from the lifespan, locale, templates."""

from __future__ import annotations

from typing import Annotated

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Query, Request

from services.publish.config import PublishSettings
from shared.es import IndexNames


def get_es(request: Request) -> AsyncElasticsearch:
    return request.state.es


def get_names(request: Request) -> IndexNames:
    return request.state.names


def get_settings(request: Request) -> PublishSettings:
    return request.state.settings


def get_locale(request: Request, lang: Annotated[str | None, Query(pattern="^(id|en)$")] = None) -> str:
    return lang or request.state.settings.default_locale


EsDep = Annotated[AsyncElasticsearch, Depends(get_es)]
NamesDep = Annotated[IndexNames, Depends(get_names)]
SettingsDep = Annotated[PublishSettings, Depends(get_settings)]
LocaleDep = Annotated[str, Depends(get_locale)]
