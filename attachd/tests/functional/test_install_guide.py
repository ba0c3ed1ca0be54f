"""The install guide (doc/source/install.rst) runs as written, so that it cannot rot.

Its shell blocks marked ``.. install-guide`` run in one bash, in order, as root, with the
guide's variables pointing at private names: a virtualenv, configuration and state in a
temporary directory, a database, role, RabbitMQ virtual host and user of their own (dropped
afterwards), a free port on 127.0.0.1. The block marked ``.. install-guide-systemd`` is
replaced by the ``ExecStart`` lines of the systemd units it installs, run as processes
(this machine has no systemd), after ``systemd-analyze verify`` on them where it is
installed. The shared PostgreSQL and RabbitMQ are only added to.
"""

import configparser
import os
import re
import shutil
import subprocess
import textwrap
import uuid

import fixtures
from keystoneauth1 import loading

from attachd.tests import base
from attachd.tests.functional.deploy import base as deploy_base

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GUIDE = os.path.join(SOURCE, 'doc', 'source', 'install.rst')
UNITS = ('attachd-manager.service', 'attachd-api.service')


def marked_blocks(path, marker_re=r'install-guide(?:-systemd)?'):
    """``[(marker, script)]``: the code block after each ``.. <marker>`` comment of the
    reStructuredText file ``path``, without its indentation."""
    with open(path) as f:
        lines = f.read().splitlines()
    blocks = []
    for index, line in enumerate(lines):
        marker = re.match(r'^\.\. (%s)\s*$' % marker_re, line)
        if not marker:
            continue
        start = index + 1
        while not lines[start].strip():
            start += 1
        if not lines[start].startswith('.. code-block:: bash'):
            raise AssertionError('%s: no code block after line %d' % (path, index + 1))
        body = []
        for text in lines[start + 1:]:
            if text and not text.startswith(' '):
                break
            body.append(text)
        blocks.append((marker.group(1), textwrap.dedent('\n'.join(body)).strip() + '\n'))
    return blocks


def exec_start(unit_path):
    with open(unit_path) as f:
        for line in f:
            if line.startswith('ExecStart='):
                return line[len('ExecStart='):].split()
    raise AssertionError('%s has no ExecStart' % unit_path)


class InstallGuideTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(600, gentle=True))
        base.need_service(self, 'root (the guide runs as root)', os.geteuid() == 0)
        base.need_service(self, 'PostgreSQL on 127.0.0.1:5432', base.port_open(5432))
        base.need_service(self, 'RabbitMQ on 127.0.0.1:5672', base.port_open(5672))
        for command in ('runuser', 'rabbitmqctl', 'psql', 'curl', 'openssl'):
            base.need_service(self, command, shutil.which(command))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        name = 'attachd_guide_%s' % uuid.uuid4().hex[:8]
        self.env = {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': os.environ.get('HOME', '/root'),
            'ATTACHD_SOURCE': SOURCE,
            'ATTACHD_PREFIX': os.path.join(self.tmp, 'venv'),
            'ATTACHD_ETC': os.path.join(self.tmp, 'etc'),
            'ATTACHD_STATE': os.path.join(self.tmp, 'state'),
            'ATTACHD_USER': 'root',
            'ATTACHD_DB': name,
            'ATTACHD_RABBIT_VHOST': name,
            'ATTACHD_RABBIT_USER': name,
            'ATTACHD_BIND': '127.0.0.1',
            'ATTACHD_PORT': str(deploy_base.free_port()),
        }
        for variable in ('http_proxy', 'https_proxy', 'no_proxy', 'PIP_INDEX_URL',
                         'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_CONFIG_FILE'):
            if variable in os.environ:
                self.env[variable] = os.environ[variable]
        self.addCleanup(self._drop_accounts, name)

    def _drop_accounts(self, name):
        subprocess.run(['runuser', '-u', 'postgres', '--', 'psql', '-q', '-c',
                        'DROP DATABASE IF EXISTS %s' % name, '-c',
                        'DROP ROLE IF EXISTS %s' % name], cwd='/', capture_output=True)
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', name], capture_output=True)
        subprocess.run(['rabbitmqctl', '-q', 'delete_user', name], capture_output=True)

    def run_shell(self, script, label):
        """Run ``script`` after the guide's variables, as the guide's reader would."""
        proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=self.tmp,
                              env=self.env, capture_output=True, text=True, timeout=400)
        self.assertEqual(0, proc.returncode,
                         '%s failed:\n%s\n%s' % (label, proc.stdout[-3000:],
                                                 proc.stderr[-3000:]))
        return proc.stdout

    def start_units(self):
        """Each unit's ExecStart, with the guide's paths, as a process of this test."""
        for unit in UNITS:
            path = os.path.join(self.env['ATTACHD_PREFIX'], 'share', 'attachd', 'systemd',
                                unit)
            argv = [arg.replace('/opt/attachd', self.env['ATTACHD_PREFIX'])
                    .replace('/etc/attachd', self.env['ATTACHD_ETC'])
                    for arg in exec_start(path)]
            self.verify_unit(path)
            log = open(os.path.join(self.tmp, unit + '.log'), 'w')
            self.addCleanup(log.close)
            proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            self.addCleanup(self._stop, proc)

    def assert_options_documented(self):
        """Every option the guide's configuration file sets is one of the generated
        sample's, in the same section: no misspelt option is silently ignored."""
        etc = self.env['ATTACHD_ETC']
        sample = configparser.ConfigParser(interpolation=None)
        with open(os.path.join(etc, 'attachd.conf.sample')) as f:
            # The sample's options are commented out: "#name = default".
            sample.read_string(re.sub(r'^#(\w+ =)', r'\1', f.read(), flags=re.MULTILINE))
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(os.path.join(etc, 'attachd.conf'))
        backends = conf['DEFAULT'].get('enabled_backends', '').split(',')
        for section in ['DEFAULT'] + conf.sections():
            documented = set(sample['backend_name' if section in backends else section])
            if 'auth_type' in conf[section]:
                # keystoneauth's plugin options, which the sample cannot list.
                documented.update(opt.dest for opt in loading.get_plugin_options(
                    conf[section]['auth_type']))
            for name in conf[section]:
                if section == 'DEFAULT' or name not in conf['DEFAULT']:
                    self.assertIn(name, documented, '[%s] %s' % (section, name))

    def verify_unit(self, path):
        """``systemd-analyze verify`` on the unit with this test's paths, where systemd's
        tools are installed."""
        if not shutil.which('systemd-analyze'):
            return
        with open(path) as f:
            text = f.read().replace('/opt/attachd', self.env['ATTACHD_PREFIX']).replace(
                '/etc/attachd', self.env['ATTACHD_ETC'])
        copy = os.path.join(self.tmp, os.path.basename(path))
        with open(copy, 'w') as f:
            f.write(text)
        proc = subprocess.run(['systemd-analyze', 'verify', copy], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertEqual('', proc.stderr.strip(), path)

    @staticmethod
    def _stop(proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()

    def test_the_guide_deploys_attachd(self):
        blocks = marked_blocks(GUIDE)
        markers = [marker for marker, _script in blocks]
        self.assertEqual(1, markers.count('install-guide-systemd'))
        split = markers.index('install-guide-systemd')
        variables = blocks[0][1]
        before = [script for marker, script in blocks[:split]]
        after = [script for marker, script in blocks[split + 1:]]
        self.run_shell('\n'.join(before), 'the install steps')
        self.assert_options_documented()
        self.start_units()
        out = self.run_shell(variables + '\n'.join(after), 'the check of the services')
        self.assertIn('"version": "3.71"', out)
        self.assertIn('OK', out)
        # A deployment made by the guide logs no warning (such as keystonemiddleware's
        # about options it does not know).
        for unit in UNITS:
            with open(os.path.join(self.tmp, unit + '.log')) as f:
                warnings = [line for line in f if ' WARNING ' in line or ' ERROR ' in line]
            self.assertEqual([], warnings, unit)
