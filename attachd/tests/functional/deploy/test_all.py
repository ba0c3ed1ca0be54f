"""attachd-all, the embedded mode, as a user runs it: one process, no broker, SQLite."""

import os
import signal
import subprocess
import sys

from attachd.tests.functional.deploy import base


class AttachdAllTest(base.ProcessTestCase):

    def setUp(self):
        super().setUp()
        self.port = base.free_port()
        self.state = os.path.join(self.workdir, 'state')
        config = self.write_config('[DEFAULT]\nstate_path = %s\n[api]\nbind_port = %d\n'
                                   % (self.state, self.port))
        self.process = self.spawn([base.console_script('attachd-all'), '--config-file',
                                   config], 'attachd-all')
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        # How fast it answers is the benchmark's business (attachd-bench prints it);
        # timing assertions do not belong in tests on a shared 2-core machine.
        base.wait_http(self.endpoint + '/', process=self.process)

    def test_attach_and_detach_a_file_volume(self):
        client = base.Client(self.endpoint)
        volume = client.create_volume()
        attachment = client.attach(volume['id'], {'host': 'compute1', 'platform': 'x86_64',
                                                  'os_type': 'linux', 'multipath': False})
        info = attachment['connection_info']
        self.assertEqual('local', info['driver_volume_type'])
        path = info['device_path']
        self.assertTrue(path.startswith(os.path.join(self.state, 'volumes')), path)
        self.assertEqual(1024 ** 3, os.path.getsize(path))
        self.assertEqual('in-use', client.wait_volume(volume['id'], 'in-use')['status'])
        client.detach(attachment['id'])
        client.wait_volume(volume['id'], 'available')
        self.assertTrue(os.path.exists(os.path.join(self.state, 'attachd.sqlite')))

    def test_stops_cleanly_on_sigterm(self):
        self.assertEqual(0, self.stop(self.process, signal.SIGTERM))
        with open(os.path.join(self.workdir, 'attachd-all.log')) as log:
            output = log.read()
        self.assertIn('state in %s' % self.state, output)
        self.assertIn('stopped', output)

    def test_stops_cleanly_on_sigint(self):
        self.assertEqual(0, self.stop(self.process, signal.SIGINT))


# attachd-all, with SIGINT sent to itself while it upgrades its schema: before its port
# opens and its managers serve.
_SIGINT_DURING_START = """
import os, signal, sys
from attachd.cmd import all as attachd_all
from attachd.db import migration
upgrade = migration.upgrade
def upgrade_then_sigint(*args, **kwargs):
    upgrade(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGINT)
migration.upgrade = upgrade_then_sigint
sys.exit(attachd_all.main(sys.argv[1:]))
"""


class StartupSignalTest(base.ProcessTestCase):

    def test_sigint_while_starting_stops_cleanly(self):
        config = self.write_config('[DEFAULT]\nstate_path = %s\n[api]\nbind_port = %d\n'
                                   % (os.path.join(self.workdir, 'state'),
                                      base.free_port()))
        result = subprocess.run([sys.executable, '-c', _SIGINT_DURING_START,
                                 '--config-file', config], capture_output=True, text=True,
                                timeout=120, env=dict(os.environ, PYTHONWARNINGS='ignore'))
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn('attachd-all: API on', result.stdout)
