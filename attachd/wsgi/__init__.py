"""WSGI entry points for external servers (gunicorn, uWSGI, mod_wsgi).

The application runs on the server's native threads, without eventlet.
"""

from attachd.common import concurrency

concurrency.use_native_threads()
