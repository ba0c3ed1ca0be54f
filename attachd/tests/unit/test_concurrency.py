"""The processes attachd starts run on native threads, without importing eventlet."""

import subprocess
import sys
import textwrap

from attachd.tests import base

# Prints oslo.service's backend and whether eventlet was imported ('module') or blocked
# ('NoneType').
REPORT = '''
from oslo_service import backend
print(backend.get_backend_type().value, type(sys.modules.get('eventlet')).__name__)
'''


def _backend_and_eventlet(code):
    # A fresh interpreter: this test process imported oslo.messaging long ago.
    code = 'import sys\n' + textwrap.dedent(code) + REPORT
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120, check=True)
    return result.stdout.split()


class NativeThreadsTest(base.TestCase):
    def test_manager_loads_without_eventlet(self):
        self.assertEqual(['threading', 'NoneType'], _backend_and_eventlet('''
            import attachd.cmd.manager
            import futurist
        '''))

    def test_wsgi_entry_point_loads_the_api_without_eventlet(self):
        self.assertEqual(['threading', 'NoneType'], _backend_and_eventlet('''
            import attachd.wsgi
            import attachd.api.router
        '''))

    def test_backend_chosen_before_is_left_alone(self):
        self.assertEqual(['eventlet', 'module'], _backend_and_eventlet('''
            import oslo_messaging
            import attachd.cmd
        '''))

    def test_without_the_threading_backend_eventlet_is_loaded_as_before(self):
        self.assertEqual(['eventlet', 'module'], _backend_and_eventlet('''
            sys.modules['cotyledon'] = None
            import attachd.cmd
            import oslo_messaging
        '''))


class ManagerFootprintTest(base.TestCase):
    def test_manager_does_not_load_keystonemiddleware(self):
        # About 21 MB per process; only the API judges callers (attachd.context).
        code = textwrap.dedent('''
            import sys
            import attachd.cmd.manager
            import attachd.manager.manager
            import attachd.manager.service
            print('keystonemiddleware' in sys.modules)
        ''')
        result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                                text=True, timeout=120, check=True)
        self.assertEqual('False', result.stdout.strip())
