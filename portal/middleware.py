"""A base for our middleware that works in both the sync and async request paths.

Under Daphne (ASGI) a sync-only middleware forces an extra hop to the sync thread on every
request; these run natively in whichever mode Django calls them.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class DualModeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self.handle(request)

    def handle(self, request):
        raise NotImplementedError

    async def __acall__(self, request):
        raise NotImplementedError
