"""Rendering portal pages: every template gets ``t`` (translate), ``locale`` and ``csrf_token``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from partner_portal.i18n import LOCALE_COOKIE, Locale, negotiate_locale, translate
from puhui.gateway.pipeline import SUBJECT_KEY
from puhui.tenancy.subject import AuthSubject

__all__ = ["TEMPLATE_DIR", "locale_of", "page", "template_config"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine)


def locale_of(request: Request[Any, Any, Any]) -> Locale:
    return negotiate_locale(
        request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language")
    )


def page(
    request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
) -> Template:
    locale = locale_of(request)
    subject = request.scope.get("state", {}).get(SUBJECT_KEY)
    csrf = subject.csrf_token if isinstance(subject, AuthSubject) else None
    return Template(
        template_name=template,
        status_code=status_code,
        context={
            "locale": locale,
            "t": lambda key, **params: translate(key, locale, **params),
            "csrf_token": context.pop("csrf_token", csrf),
            "subject": subject,
            **context,
        },
    )
