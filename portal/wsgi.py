"""WSGI entry point, for tools that want one. The site itself is served over ASGI by Daphne."""

from portal.settings import select_settings_module

select_settings_module()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
