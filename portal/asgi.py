"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by Daphne)."""

import gc

from portal.settings import select_settings_module

select_settings_module()

from django.core.asgi import get_asgi_application  # noqa: E402

# Build the Django app (and so the app registry) before anything imports models via consumers.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from portal.middleware import UnstorableWebSocketMiddleware  # noqa: E402
from portal.request_limits import BodySizeLimitMiddleware, install_body_limit  # noqa: E402
from portal.roles import pages_for_role, sockets_for_role  # noqa: E402
from portal.shutdown import install_graceful_shutdown  # noqa: E402
from signaling.routing import websocket_urlpatterns  # noqa: E402
from signaling.transport import (  # noqa: E402
    install_frame_limit,
    install_lazy_autobahn_debug,
    install_shared_protocol_options,
)

install_frame_limit()  # these five only take effect where Daphne serves this application
install_lazy_autobahn_debug()
install_shared_protocol_options()
install_body_limit()
install_graceful_shutdown()

# PROCESS_ROLE: a web process refuses sockets, a signaling process refuses pages (not its health probes).
application = ProtocolTypeRouter(
    {
        # Daphne already drops over-limit bodies (install_body_limit); this covers any other server.
        "http": pages_for_role(settings.PROCESS_ROLE, BodySizeLimitMiddleware(django_asgi_app)),
        "websocket": sockets_for_role(
            settings.PROCESS_ROLE,
            AllowedHostsOriginValidator(
                UnstorableWebSocketMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            ),
        ),
    }
)

# Everything imported so far lives as long as the process: keep it out of the garbage collector's
# full collections, which otherwise pause every socket on the process (measured 70-160 ms).
gc.collect()
gc.freeze()
