"""attachd's processes run on native threads; this keeps eventlet out of them.

eventlet is installed wherever attachd is (oslo.service depends on it), and without this
it is imported although nothing uses it: oslo.messaging, futurist and oslo.utils import it
when they can, only to check whether it monkey-patched the standard library, and
oslo.service loads its default backend, eventlet's, as soon as oslo.messaging imports it.
That costs about 17 MB of resident memory in every process (eventlet, dnspython and the
parts of cryptography it loads). :func:`use_native_threads` selects oslo.service's
threading backend (``oslo.service[threading]``) and makes ``import eventlet`` fail, which
those libraries take as eventlet not being installed.

The entry points call it before importing anything else: :mod:`attachd.cmd` (every
console script) and :mod:`attachd.wsgi` (the API under a WSGI server).
"""

import sys

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def use_native_threads():
    """Select oslo.service's threading backend and keep eventlet from being imported.

    Leaves alone a process that already imported eventlet or chose oslo.service's backend
    (a test runner, an application embedding attachd's modules), and one without the
    threading backend's dependencies (it then loads eventlet, unused, as before).
    """
    from oslo_service import backend
    if backend.get_backend_type() is not None or 'eventlet' in sys.modules:
        return
    # A None entry makes ``import eventlet`` raise ImportError. Set before loading the
    # threading backend: it imports futurist, which tries eventlet too.
    sys.modules['eventlet'] = None
    try:
        backend.init_backend(backend.BackendType.THREADING)
    except (ImportError, ValueError):
        # oslo.service raises ValueError when the backend's module fails to import
        # (cotyledon missing).
        del sys.modules['eventlet']
        LOG.warning('oslo.service\'s threading backend is not available (install '
                    'oslo.service[threading]); eventlet is loaded, unused, costing memory.')
