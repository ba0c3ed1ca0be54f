"""Configuration mistakes, as an operator meets them: each console script, run as a
process, ends with one line on stderr that names the mistake and its fix, a non-zero exit
status and no traceback, and has created nothing."""

import json
import os
import socket
import subprocess
import sys
import textwrap

from attachd.tests import base
from attachd.tests.functional.deploy import base as deploy_base


class CommandTestCase(base.TestCase):
    """Runs console scripts in a temporary work directory."""

    def setUp(self):
        super().setUp()
        self.workdir = self.useFixture(base.fixtures.TempDir()).path
        self.state = os.path.join(self.workdir, 'state')

    def write_config(self, text):
        path = os.path.join(self.workdir, 'attachd.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % self.state)
            # A free port, so that an error checked after the bind is not hidden by an
            # attachd already serving on the default one; a test's own [api] overrides it.
            f.write('[api]\nbind_port = %d\n' % deploy_base.free_port())
            f.write(textwrap.dedent(text))
        return path

    def run_command(self, *args, env=None):
        """Run a console script in the work directory; returns (status, stdout, stderr)."""
        environ = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning')
        environ.update(env or {})
        command = args[0] if args[0].startswith('/') else deploy_base.console_script(args[0])
        proc = subprocess.run([command] + list(args[1:]), cwd=self.workdir, env=environ,
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr

    def assert_one_line_error(self, status, stderr, *words):
        """Non-zero exit, no traceback, and a last line that says all of ``words``."""
        self.assertNotEqual(0, status, stderr)
        self.assertNotIn('Traceback', stderr)
        last = stderr.strip().splitlines()[-1]
        self.assertIn(': error: ', last)
        for word in words:
            self.assertIn(word, last)
        return last


class ConfigErrorTest(CommandTestCase):

    def test_missing_config_file(self):
        missing = os.path.join(self.workdir, 'nope.conf')
        for command in (['attachd-manage', '--config-file', missing, 'db', 'version'],
                        ['attachd-all', '--config-file', missing],
                        ['attachd-manager', '--config-file', missing],
                        ['attachd-api', '--config-file', missing],
                        ['attachd-status', '--config-file', missing, 'upgrade', 'check']):
            status, _out, err = self.run_command(*command)
            self.assert_one_line_error(status, err, missing, '--config-file')
        self.assertFalse(os.path.exists(self.state))

    def test_unknown_database_url_scheme(self):
        conf = self.write_config('[database]\nconnection = foo://user:secret@host/db\n')
        for command in ('attachd-all', 'attachd-manage'):
            status, _out, err = self.run_command(command, '--config-file', conf,
                                                 *(['db', 'sync'] if command ==
                                                   'attachd-manage' else []))
            last = self.assert_one_line_error(status, err, '[database] connection',
                                              'postgresql+psycopg2://')
            self.assertNotIn('secret', last)
        self.assertFalse(os.path.exists(self.state))

    def test_wrong_database_role(self):
        base.need_service(self, 'PostgreSQL on 127.0.0.1:5432', base.port_open(5432))
        conf = self.write_config(
            '[database]\nconnection = postgresql+psycopg2://no_such_role:secret@127.0.0.1/x\n'
            '[DEFAULT]\ntransport_url = %s\n' % base.RABBIT_URL)
        for command in (['attachd-manage', '--config-file', conf, 'db', 'sync'],
                        ['attachd-api', '--config-file', conf],
                        ['attachd-all', '--config-file', conf]):
            status, _out, err = self.run_command(*command)
            last = self.assert_one_line_error(status, err, 'no_such_role',
                                              'Check [database] connection')
            self.assertNotIn('secret', last)

    def test_unknown_connector_driver_names_installed_ones(self):
        conf = self.write_config('[DEFAULT]\nenabled_backends = gold\n'
                                 '[gold]\nconnector_driver = nope\n')
        for command in ('attachd-all', 'attachd-manager'):
            status, _out, err = self.run_command(command, '--config-file', conf)
            self.assert_one_line_error(status, err, '[gold] connector_driver', 'nope',
                                       'installed: fake, file, rbd, tgt')
        # Checked before anything is created: no SQLite schema, no state directory.
        self.assertFalse(os.path.exists(self.state))

    def test_port_in_use_names_the_address(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            conf = self.write_config('[api]\nbind_port = %d\n' % port)
            status, _out, err = self.run_command('attachd-all', '--config-file', conf)
            self.assert_one_line_error(status, err, '127.0.0.1:%d' % port, 'bind_port')
            self.assertFalse(os.path.exists(os.path.join(self.state, 'attachd.sqlite')))
            # attachd-api checks the address before gunicorn, which would retry for 5 s.
            status, _out, err = self.run_command('attachd-api', '--config-file', conf)
            self.assert_one_line_error(status, err, '127.0.0.1:%d' % port, 'bind_port')

    def test_api_refuses_an_unsynced_database(self):
        conf = self.write_config('[DEFAULT]\ntransport_url = %s\n' % base.RABBIT_URL)
        os.makedirs(self.state)
        status, _out, err = self.run_command('attachd-api', '--config-file', conf)
        self.assert_one_line_error(status, err, 'db sync')

    def test_wsgi_application_refuses_a_missing_config_file(self):
        missing = os.path.join(self.workdir, 'nope.conf')
        status, _out, err = self.run_command(
            sys.executable, '-c', 'import attachd.wsgi.api',
            env={'ATTACHD_CONFIG_FILE': missing})
        self.assertNotEqual(0, status)
        self.assertIn('configuration file %s not found' % missing, err)
        self.assertFalse(os.path.exists(self.state))


class StatusCommandTest(CommandTestCase):

    def test_upgrade_check_creates_nothing(self):
        status, out, err = self.run_command('attachd-status', 'upgrade', 'check', '--json')
        self.assertEqual(2, status, out + err)  # oslo.upgradecheck's "failure"
        self.assertIn('does not exist', json.loads(out)['checks'][0]['details'])
        self.assertEqual([], os.listdir(self.workdir))

    def test_help_titles_its_subcommands(self):
        status, out, _err = self.run_command('attachd-status', '--help')
        self.assertEqual(0, status)
        self.assertIn('Commands:', out)
        self.assertNotIn('\n:\n', out)
