"""Keystone's WSGI application for the tests' Keystone under gunicorn
(``attachd.tests.functional.identity``).

Keystone parses ``sys.argv`` as its own command line when it loads its configuration
(from ``OS_KEYSTONE_CONFIG_FILES``); in a gunicorn worker those are gunicorn's arguments,
which it refuses.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()
