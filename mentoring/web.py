"""Domain errors as answers, in one place. Views call selectors and services and let their errors
rise: ``domain_errors`` turns them into what the person sees; ``form_refusals`` turns a refusal
into an error on the form they are filling in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .errors import MentoringError, NotFound

RedirectTo = str | Callable[..., str]


def domain_errors(
    view: Callable | None = None, *, redirect_to: RedirectTo | None = None, json_when_asked: bool = False
):
    """Map the domain's errors raised by ``view`` to responses.

    ``NotFound`` is Django's 404 page (the same for "does not exist" and "not yours"). A
    ``MentoringError`` (a refusal) is shown to the person as an error message on the page
    ``redirect_to`` names: a URL name, reversed with the view's URL arguments, or a callable
    ``(request, **url_kwargs) -> url``. With ``json_when_asked``, a request that asks for JSON
    (``Accept: application/json``) gets ``{"error": message}`` with status 400 instead. A refusal in
    a view that names no page is a bug and is raised on.

    Use it as ``@domain_errors`` or ``@domain_errors(redirect_to=...)``, below ``@once`` (which
    then keeps the refusal's redirect and message as the submission's outcome).
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                raise Http404(error.message) from error
            except MentoringError as error:
                if json_when_asked and wants_json(request):
                    return JsonResponse({"error": error.message}, status=400)
                if redirect_to is None:
                    raise
                messages.error(request, error.message)
                return redirect(
                    redirect_to(request, *args, **kwargs)
                    if callable(redirect_to)
                    else reverse(redirect_to, args=args, kwargs=kwargs)
                )

        return wrapper

    return decorate(view) if view is not None else decorate


def wants_json(request: HttpRequest) -> bool:
    """A script's request that asked for JSON (fetch with ``Accept: application/json``)."""
    return request.headers.get("Accept") == "application/json"


@contextmanager
def form_refusals(form: forms.Form, *, fields: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run a service for a form; its refusal becomes an error on the form (on the field ``fields``
    maps the error's code to, else above the form) and the code after the ``with`` block runs, which
    shows the form again. ``NotFound`` passes through (to ``domain_errors``)."""
    try:
        yield
    except MentoringError as error:
        form.add_error((fields or {}).get(error.code), error.message)
