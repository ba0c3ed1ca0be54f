"""A plain ``pip install .`` in a fresh virtualenv, as an operator would make it: every
console script answers ``--help`` (each of its imports is a declared requirement), the
``attachd-wsgi`` entry point builds the application, and ``attachd-all`` run from outside
the source tree finds its installed paste file and migrations and serves."""

import configparser
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import fixtures

from attachd.tests import base
from attachd.tests.functional.deploy import base as deploy_base

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def console_scripts():
    """The names of setup.cfg's console scripts."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(SOURCE, 'setup.cfg'))
    lines = parser['entry_points']['console_scripts'].strip().splitlines()
    return [line.split('=')[0].strip() for line in lines]


class PlainInstallTest(base.TestCase):
    """One fresh virtualenv for the class: installing takes about 20 seconds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tempdir = fixtures.TempDir()
        cls.tempdir.setUp()
        cls.venv = os.path.join(cls.tempdir.path, 'venv')
        subprocess.run([sys.executable, '-m', 'venv', cls.venv], check=True)
        # Without the test environment's variables: nothing of it may leak in.
        cls.env = {'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/root'),
                   'PYTHONWARNINGS': 'ignore::DeprecationWarning'}
        for name in ('http_proxy', 'https_proxy', 'no_proxy', 'PIP_INDEX_URL',
                     'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_CONFIG_FILE'):
            if name in os.environ:
                cls.env[name] = os.environ[name]
        install = subprocess.run([cls.bin('pip'), 'install', '-q', SOURCE], env=cls.env,
                                 capture_output=True, text=True, timeout=600)
        cls.install_error = install.stderr[-3000:] if install.returncode else None

    @classmethod
    def tearDownClass(cls):
        cls.tempdir.cleanUp()
        super().tearDownClass()

    @classmethod
    def bin(cls, name):
        return os.path.join(cls.venv, 'bin', name)

    def setUp(self):
        super().setUp()
        self.assertIsNone(self.install_error, 'pip install . failed')
        self.workdir = self.useFixture(fixtures.TempDir()).path

    def test_every_console_script_answers_help(self):
        scripts = console_scripts()
        self.assertIn('attachd-api', scripts)
        for script in scripts:
            proc = subprocess.run([self.bin(script), '--help'], cwd=self.workdir,
                                  env=self.env, capture_output=True, text=True, timeout=60)
            self.assertEqual(0, proc.returncode, '%s: %s' % (script, proc.stderr[-2000:]))
            self.assertIn('usage:', proc.stdout)

    def test_the_wsgi_script_entry_point_builds_the_application(self):
        # What a WSGI server (or pbr's attachd-wsgi script) loads: the entry point, found
        # through the installed metadata, called with a configuration file.
        conf = os.path.join(self.workdir, 'attachd.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % os.path.join(self.workdir, 'state'))
        code = ('from importlib import metadata\n'
                '(ep,) = [e for e in metadata.entry_points(group="wsgi_scripts")\n'
                '         if e.name == "attachd-wsgi"]\n'
                'app = ep.load()()\n'
                'assert callable(app), app\n'
                'print("loaded", ep.value)\n')
        proc = subprocess.run([self.bin('python'), '-c', code], cwd=self.workdir,
                              env=dict(self.env, ATTACHD_CONFIG_FILE=conf),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
        self.assertIn('loaded attachd.wsgi.api:init_application', proc.stdout)
        # pbr's script for the entry point, imported as a WSGI server imports it.
        code = ('import runpy\n'
                'script = runpy.run_path(%r, run_name="attachd_wsgi")\n'
                'assert callable(script["application"])\n' % self.bin('attachd-wsgi'))
        proc = subprocess.run([self.bin('python'), '-c', code], cwd=self.workdir,
                              env=dict(self.env, ATTACHD_CONFIG_FILE=conf),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])

    def test_installed_attachd_all_serves_from_outside_the_source_tree(self):
        port = deploy_base.free_port()
        conf = os.path.join(self.workdir, 'attachd.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[api]\nbind_port = %d\n'
                    % (os.path.join(self.workdir, 'state'), port))
        log = open(os.path.join(self.workdir, 'all.log'), 'w+')
        self.addCleanup(log.close)
        proc = subprocess.Popen([self.bin('attachd-all'), '--config-file', conf],
                                cwd=self.workdir, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.terminate)

        def versions_status():
            if proc.poll() is not None:
                log.seek(0)
                self.fail('attachd-all exited: %s' % log.read()[-2000:])
            try:
                urllib.request.urlopen('http://127.0.0.1:%d/' % port, timeout=5)
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                time.sleep(0.2)
                return None
            return 200
        self.assertEqual(300, base.wait_for(versions_status, timeout=60))
