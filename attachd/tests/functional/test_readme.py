"""The README's whole cycle (the block marked ``.. readme-cycle``) runs as written against
``attachd-all`` on its embedded defaults (a private port and state directory), and so
does doc/source/api.rst's python-cinderclient command under noauth
(``.. api-noauth-cinder``)."""

import os
import shutil
import subprocess

import fixtures

from attachd.tests import base
from attachd.tests.functional import test_install_guide
from attachd.tests.functional.deploy import base as deploy_base

README = os.path.join(test_install_guide.SOURCE, 'README.rst')
API_DOC = os.path.join(test_install_guide.SOURCE, 'doc', 'source', 'api.rst')


class ReadmeCycleTest(base.TestCase):

    def test_the_readme_cycle_attaches_and_detaches(self):
        base.need_service(self, 'curl', shutil.which('curl'))
        blocks = test_install_guide.marked_blocks(README, 'readme-cycle')
        self.assertEqual(1, len(blocks))
        workdir = self.useFixture(fixtures.TempDir()).path
        port = deploy_base.free_port()
        conf = os.path.join(workdir, 'attachd.conf')
        with open(conf, 'w') as f:
            f.write('[api]\nbind_port = %d\n' % port)
        log = open(os.path.join(workdir, 'all.log'), 'w+')
        self.addCleanup(log.close)
        proc = subprocess.Popen([deploy_base.console_script('attachd-all'),
                                 '--config-file', conf], cwd=workdir, stdout=log,
                                stderr=subprocess.STDOUT)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.terminate)
        base.wait_for(lambda: base.port_open(port), timeout=60)
        script = blocks[0][1].replace('127.0.0.1:8776', '127.0.0.1:%d' % port)
        run = subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=workdir,
                             capture_output=True, text=True, timeout=120)
        log.seek(0)
        self.assertEqual(0, run.returncode, '%s\n%s\n%s' % (run.stdout, run.stderr,
                                                           log.read()[-3000:]))
        self.assertEqual(['in-use', 'available'], run.stdout.split())

        [(_marker, cinder)] = test_install_guide.marked_blocks(API_DOC, 'api-noauth-cinder')
        # The cinder command of the tests' environment, as the reader's after
        # "pip install python-cinderclient".
        env = dict(os.environ, PATH='%s:%s' % (os.path.dirname(
            deploy_base.console_script('cinder')), os.environ.get('PATH', '')))
        run = subprocess.run(['bash', '-euo', 'pipefail', '-c',
                              cinder.replace('127.0.0.1:8776', '127.0.0.1:%d' % port)],
                             cwd=workdir, capture_output=True, text=True, timeout=120,
                             env=env)
        self.assertEqual(0, run.returncode, run.stdout + run.stderr)
        # An empty list: the header of python-cinderclient's table.
        self.assertIn('Volume ID', run.stdout)
