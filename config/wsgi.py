"""WSGI entry point: the `web` process serves all plain HTTP through it (granian)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.tracing import configure_tracing

configure_tracing("web")  # before the middleware is loaded: it is only installed when tracing is on
application = get_wsgi_application()
