"""The processes attachd starts run on native threads, without importing eventlet."""

import os
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
    @staticmethod
    def _loaded(imports, modules):
        """Which of ``modules`` a fresh interpreter has after ``imports``."""
        code = 'import sys\n' + textwrap.dedent(imports) + textwrap.dedent('''
            print(sorted(m for m in %r if m in sys.modules))
        ''' % (modules,))
        result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                                text=True, timeout=120, check=True)
        return result.stdout.strip()

    def test_manager_does_not_load_keystonemiddleware_nor_keystoneauth1(self):
        # keystonemiddleware: about 10 MB, only the API judges callers (attachd.context);
        # keystoneauth1.loading: 8.8 MB, only the API asks Nova (attachd.conf.nova).
        self.assertEqual('[]', self._loaded('''
            import attachd.cmd.manager
            import attachd.manager.manager
            import attachd.manager.service
        ''', ['keystonemiddleware', 'keystoneauth1']))

    def test_manager_does_not_load_alembic(self):
        # alembic with mako and pygments: 10 MB; only attachd-manage, attachd-status,
        # attachd-api's start-up check and attachd-all (which upgrades) use it.
        self.assertEqual('[]', self._loaded('''
            import attachd.cmd.manager
            import attachd.manager.service
        ''', ['alembic', 'mako', 'pygments']))

    def test_gunicorn_master_loads_only_the_worker_class(self):
        # The master imports attachd-api's worker class; waitress and oslo.config are the
        # workers' (4.4 MB in the master).
        self.assertEqual('[]', self._loaded('''
            import attachd.common.http_worker
        ''', ['waitress', 'oslo_config', 'attachd.conf']))


class NoauthFootprintTest(base.TestCase):
    def test_noauth_api_reads_service_roles_without_keystonemiddleware(self):
        # keystonemiddleware.auth_token: 13.8 MB per API worker; under noauth attachd
        # registers its own copy of [keystone_authtoken] service_token_roles, and the
        # configured value still gives Nova's service token its roles.
        config = os.path.join(self.state_path, 'attachd.conf')
        with open(config, 'w') as f:
            f.write('[api]\nauth_strategy = noauth\n'
                    '[database]\nconnection = sqlite:///%s/a.sqlite\n'
                    '[keystone_authtoken]\nservice_token_roles = nova-service\n'
                    % self.state_path)
        code = textwrap.dedent('''
            import sys
            import webob
            from attachd.wsgi import api
            from attachd import context
            from attachd.api import middleware
            seen = []
            def app(environ, start_response):
                seen.append(context.RequestContext.from_environ(environ))
                start_response('204 No Content', [])
                return []
            webob.Request.blank('/', headers={'X-Auth-Token': 'u:p',
                                              'X-Service-Token': 'nova:svc'}
                                ).call_application(middleware.NoAuth(app))
            print(seen[0].service_roles, seen[0].is_service,
                  sorted(m for m in sys.modules if m.startswith('keystonemiddleware')))
        ''')
        result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                                text=True, timeout=120, check=True,
                                env=dict(os.environ, ATTACHD_CONFIG_FILE=config))
        self.assertEqual("['nova-service'] True []", result.stdout.splitlines()[-1])


# Prints the eventlet modules a process imported (blocked ones count as not imported).
EVENTLET_MODULES = '''
print(sorted(name for name, module in sys.modules.items()
             if module is not None and (name == 'eventlet' or name.startswith('eventlet.'))))
'''


class NoEventletTest(base.TestCase):
    """No entry point of attachd imports eventlet, neither when its module is imported nor
    once the API application is built."""

    def _eventlet_modules(self, code, env=None):
        code = 'import sys\n' + textwrap.dedent(code) + EVENTLET_MODULES
        result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                timeout=120, env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        # The last line: logging (a noauth warning) may come before it.
        return result.stdout.strip().splitlines()[-1]

    def test_console_scripts_import_no_eventlet(self):
        for module in ('attachd.cmd.api', 'attachd.cmd.manager', 'attachd.cmd.all',
                       'attachd.cmd.manage', 'attachd.cmd.status'):
            self.assertEqual('[]', self._eventlet_modules('import %s' % module), module)

    def test_the_built_wsgi_application_imports_no_eventlet(self):
        config = os.path.join(self.state_path, 'attachd.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n'
                    '[database]\nconnection = sqlite:///%s/attachd.sqlite\n'
                    % (self.state_path, self.state_path))
        env = dict(os.environ, ATTACHD_CONFIG_FILE=config)
        env.pop('ATTACHD_CONFIG_FILES', None)
        self.assertEqual('[]', self._eventlet_modules('''
            import attachd.wsgi.api
            assert callable(attachd.wsgi.api.application)
            import oslo_messaging, futurist, oslo_service.loopingcall
        ''', env=env))

    def test_the_check_sees_eventlet_when_it_is_imported(self):
        # The check itself can fail.
        self.assertIn("'eventlet'", self._eventlet_modules('import eventlet'))
