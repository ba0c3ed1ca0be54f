"""WSGI entry points for external servers (gunicorn, uWSGI, mod_wsgi)."""
