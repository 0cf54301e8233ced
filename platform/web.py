"""Small helpers the HTML views share: htmx's "one URL, two renderings" and toasts."""
from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """What a view is handed once HtmxMiddleware has run: a request with `htmx` (for annotations)."""

    htmx: HtmxDetails


def render_page(request: HtmxHttpRequest, template: str, context: dict[str, Any] | None = None, *,
                partials: Collection[str] = (), status: int = 200) -> HttpResponse:
    """Renders the whole page, or only the partial htmx asked for.

    An htmx request names its target element (`HX-Target`); when that id is one of `partials`,
    only `template#<id>` is rendered, followed by any pending toasts as an out-of-band swap so a
    flash message raised by an htmx POST still shows up at the top right."""
    target = request.htmx.target if request.htmx else None
    if target in partials:
        # htmx swaps only 2xx answers by default; a form with errors is still the part to show.
        response = render(request, f"{template}#{target}", context, status=200 if status == 400 else status)
        response.content += toasts_oob(request).encode()
        return response
    return render(request, template, context, status=status)


def toasts_oob(request: HttpRequest) -> str:
    return render_to_string("_toasts.html", {"oob": True, "messages": messages.get_messages(request)})


def toast(request: HttpRequest, text: str, level: int = messages.SUCCESS) -> None:
    messages.add_message(request, level, text)
