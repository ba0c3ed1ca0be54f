"""The install guide (doc/source/install.rst) runs as written, so that it cannot rot.

Its shell blocks marked ``.. install-guide`` and ``.. install-guide-keystone`` run in bash,
in order, as root, with the guide's variables pointing at private names: a virtualenv,
configuration and state in a temporary directory, a database, role, RabbitMQ virtual host
and user of their own (dropped afterwards), a free port on 127.0.0.1, a memcached of its
own. The ``-keystone`` blocks run with an administrator's credentials in the ``OS_*``
variables (as ``source admin-openrc`` sets them) against a Keystone of this test
(:mod:`attachd.tests.functional.identity`), which starts while the first steps run. The
block marked ``.. install-guide-systemd`` is replaced by the ``ExecStart`` lines of the
systemd units it installs, run as processes (this machine has no systemd), after
``systemd-analyze verify`` on them where it is installed. The shared PostgreSQL and
RabbitMQ are only added to.

Then the deployment is used as its users would: a project member's token from Keystone,
attachd found through the catalog the guide registered; Nova's own ``nova.volume.cinder``
and Ironic's ``ironic.common.cinder`` (each in a process of its own, see
:mod:`attachd.tests.functional.conformance`) configured with the guide's ``nova.conf`` and
``ironic.conf`` blocks (``.. install-guide-nova-conf``, ``.. install-guide-ironic-conf``),
only their placeholders replaced; the failures the guide explains; the guide's policy file.
Last, attachd's logs must hold no warning or error but the explained ones of
:data:`EXPECTED_LOG_LINES`.
"""

import configparser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading
from keystonemiddleware.auth_token import _request as ksm_request
from testtools import content

from attachd.tests import base
from attachd.tests.functional import identity
from attachd.tests.functional.conformance import ironic_volumes
from attachd.tests.functional.conformance import test_nova
from attachd.tests.functional.deploy import base as deploy_base

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GUIDE = os.path.join(SOURCE, 'doc', 'source', 'install.rst')
UNITS = ('attachd-manager.service', 'attachd-api.service')
SHELL_MARKERS = ('install-guide', 'install-guide-keystone', 'install-guide-systemd')
SERVER = '0d7e4f3c-3b1a-4c5e-9f8e-2a6b7c8d9e0f'
MICROVERSION = {'OpenStack-API-Version': 'volume 3.71'}

# The Keystone's users besides its administrator. Nova's and Ironic's users exist, as
# their own installations make them, without the service role: the guide grants it.
GUIDE_USERS = (
    ('a-member', 'project-a', ('member',)),
    ('nova', 'service', ()),
    ('ironic', 'service', ()),
)

# A warning, an error or a traceback in a log line (oslo.log's format and gunicorn's).
PROBLEM = re.compile(r'[ \[](WARNING|ERROR|CRITICAL)[ \]]|^Traceback ')
# (regular expression, why) of each problem line a correctly configured deployment still
# logs while this test uses it; anything else fails the test, and so does an entry that
# matched nothing (it would hide the next problem). None today: keystonemiddleware's
# warnings about unknown options and its token cache, and waitress's about a task queued
# at a worker's start, were fixed rather than listed here.
EXPECTED_LOG_LINES = ()


def marked_blocks(path, marker_re=r'install-guide(?:-[a-z-]+)?'):
    """``[(marker, text)]``: the code block (bash or ini) after each ``.. <marker>``
    comment of the reStructuredText file ``path``, without its indentation."""
    with open(path) as f:
        lines = f.read().splitlines()
    blocks = []
    for index, line in enumerate(lines):
        marker = re.match(r'^( *)\.\. (%s)\s*$' % marker_re, line)
        if not marker:
            continue
        indent = marker.group(1)
        start = index + 1
        while not lines[start].strip():
            start += 1
        if not re.match(r'^%s\.\. code-block:: (bash|ini)$' % indent, lines[start]):
            raise AssertionError('%s: no code block after line %d' % (path, index + 1))
        body = []
        for text in lines[start + 1:]:
            if text and not text.startswith(indent + ' '):
                break
            body.append(text)
        blocks.append((marker.group(2), textwrap.dedent('\n'.join(body)).strip() + '\n'))
    return blocks


def exec_start(unit_path):
    with open(unit_path) as f:
        for line in f:
            if line.startswith('ExecStart='):
                return line[len('ExecStart='):].split()
    raise AssertionError('%s has no ExecStart' % unit_path)


def fill_in(text, values):
    """``text`` with each placeholder of ``values`` replaced; every one must occur."""
    for placeholder, value in values.items():
        if placeholder not in text:
            raise AssertionError('%r is not in the guide\'s block:\n%s' % (placeholder, text))
        text = text.replace(placeholder, value)
    return text


class InstallGuideTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(600, gentle=True))
        base.need_service(self, 'root (the guide runs as root)', os.geteuid() == 0)
        base.need_service(self, 'PostgreSQL on 127.0.0.1:5432', base.port_open(5432))
        base.need_service(self, 'RabbitMQ on 127.0.0.1:5672', base.port_open(5672))
        for command in ('runuser', 'rabbitmqctl', 'psql', 'curl', 'openssl', 'memcached'):
            base.need_service(self, command, shutil.which(command))
        base.need_service(self, 'The keystone package', identity.available())
        self.tmp = self.useFixture(fixtures.TempDir()).path
        name = 'attachd_guide_%s' % uuid.uuid4().hex[:8]
        port = deploy_base.free_port()
        # The operator's tools besides the system's: the openstack command alone.
        tools = os.path.join(self.tmp, 'tools')
        os.mkdir(tools)
        os.symlink(deploy_base.console_script('openstack'), os.path.join(tools, 'openstack'))
        self.env = {
            'PATH': tools + ':/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': os.environ.get('HOME', '/root'),
            'ATTACHD_SOURCE': SOURCE,
            'ATTACHD_PREFIX': os.path.join(self.tmp, 'venv'),
            'ATTACHD_ETC': os.path.join(self.tmp, 'etc'),
            'ATTACHD_STATE': os.path.join(self.tmp, 'state'),
            'ATTACHD_USER': 'root',
            'ATTACHD_DB': name,
            # The passwords are set here, not drawn by the guide's first block: the steps
            # run in several shells, each of which begins with that block.
            'ATTACHD_DB_PASSWORD': uuid.uuid4().hex,
            'ATTACHD_RABBIT_VHOST': name,
            'ATTACHD_RABBIT_USER': name,
            'ATTACHD_RABBIT_PASSWORD': uuid.uuid4().hex,
            'ATTACHD_KEYSTONE_PASSWORD': uuid.uuid4().hex,
            'ATTACHD_MEMCACHED': '127.0.0.1:%d' % self.start_memcached(),
            'ATTACHD_BIND': '127.0.0.1',
            'ATTACHD_PORT': str(port),
            'ATTACHD_PUBLIC_URL': 'http://127.0.0.1:%d' % port,
        }
        for variable in ('http_proxy', 'https_proxy', 'no_proxy', 'PIP_INDEX_URL',
                         'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_CONFIG_FILE'):
            if variable in os.environ:
                self.env[variable] = os.environ[variable]
        self.addCleanup(self._drop_accounts, name)

    def start_memcached(self):
        """A memcached of this test on a free port (the machine's, if any, is left alone)."""
        port = deploy_base.free_port()
        argv = ['memcached', '-l', '127.0.0.1', '-p', str(port), '-U', '0', '-m', '16']
        if os.geteuid() == 0:
            argv += ['-u', 'root']
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.addCleanup(self._stop, proc)
        base.wait_for(lambda: base.port_open(port))
        self.memcached_port = port
        return port

    def _drop_accounts(self, name):
        subprocess.run(['runuser', '-u', 'postgres', '--', 'psql', '-q', '-c',
                        'DROP DATABASE IF EXISTS %s' % name, '-c',
                        'DROP ROLE IF EXISTS %s' % name], cwd='/', capture_output=True)
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', name], capture_output=True)
        subprocess.run(['rabbitmqctl', '-q', 'delete_user', name], capture_output=True)

    def start_shell(self, script, label):
        """Start ``script`` in bash as the guide's reader would run it; see
        :meth:`finish_shell`."""
        out = open(os.path.join(self.tmp, '%s.out' % label.replace(' ', '-')), 'w+')
        self.addCleanup(out.close)
        proc = subprocess.Popen(['bash', '-euo', 'pipefail', '-c', script], cwd=self.tmp,
                                env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        self.addCleanup(self._stop, proc)
        return proc, out, label

    def finish_shell(self, started):
        proc, out, label = started
        proc.wait(400)
        out.seek(0)
        output = out.read()
        self.assertEqual(0, proc.returncode, '%s failed:\n%s' % (label, output[-6000:]))
        return output

    def run_shell(self, script, label):
        return self.finish_shell(self.start_shell(script, label))

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

    def openrc(self):
        """An administrator's credentials, as Keystone's ``admin-openrc`` sets them."""
        return {'OS_AUTH_URL': self.keystone.url, 'OS_USERNAME': 'admin',
                'OS_PASSWORD': identity.PASSWORD, 'OS_PROJECT_NAME': 'admin',
                'OS_USER_DOMAIN_NAME': 'Default', 'OS_PROJECT_DOMAIN_NAME': 'Default',
                'OS_IDENTITY_API_VERSION': '3'}

    def test_the_guide_deploys_attachd(self):
        blocks = marked_blocks(GUIDE)
        shell = [(marker, text) for marker, text in blocks if marker in SHELL_MARKERS]
        markers = [marker for marker, _text in shell]
        self.assertEqual(1, markers.count('install-guide-systemd'))
        systemd = markers.index('install-guide-systemd')
        first_keystone = markers.index('install-guide-keystone')
        self.assertLess(first_keystone, systemd)
        variables = shell[0][1]
        seconds = {}
        start = time.monotonic()
        self.addCleanup(self.add_seconds, seconds, start)
        # The guide's steps before the services run in order, except that the Keystone
        # steps, which only talk to Keystone, run beside the machine's steps, which do not:
        # the first ones while Keystone starts, the others while the Keystone steps run.
        local = self.start_shell(''.join(text for _m, text in shell[:first_keystone]),
                                 'the install steps')
        self.keystone = self.useFixture(identity.KeystoneFixture(users=GUIDE_USERS))
        seconds['Keystone started'] = round(time.monotonic() - start, 1)
        self.env.update(self.openrc())
        keystone = self.start_shell(variables + ''.join(
            text for marker, text in shell[:systemd] if marker == 'install-guide-keystone'),
            'the Keystone steps')
        self.finish_shell(local)
        seconds['installed'] = round(time.monotonic() - start, 1)
        self.run_shell(variables + ''.join(
            text for marker, text in shell[first_keystone:systemd]
            if marker == 'install-guide'), 'the configuration')
        self.finish_shell(keystone)
        seconds['configured, registered in Keystone'] = round(time.monotonic() - start, 1)
        self.assert_options_documented()
        self.start_units()
        out = self.run_shell(variables + ''.join(text for _m, text in shell[systemd + 1:]),
                             'the check of the services and the later steps')
        self.assertIn('"version": "3.71"', out)
        self.assertIn('OK', out)
        seconds['services checked, later steps'] = round(time.monotonic() - start, 1)
        conf = {marker: text for marker, text in blocks if marker.endswith('-conf')}
        self.check_member_and_nova(conf['install-guide-nova-conf'])
        seconds['member and Nova'] = round(time.monotonic() - start, 1)
        self.check_ironic(conf['install-guide-ironic-conf'])
        seconds['Ironic'] = round(time.monotonic() - start, 1)
        self.check_policy_file()
        self.check_token_cache()
        self.check_logs()

    def add_seconds(self, seconds, start):
        """What the test's steps cost (seconds since its start at the end of each), to
        keep an eye on it."""
        seconds['stopped'] = round(time.monotonic() - start, 1)
        self.addDetail('seconds', content.json_content(seconds))

    def block_storage(self, user):
        """A keystoneauth adapter of ``user``'s to attachd, found in the catalog."""
        return ks_adapter.Adapter(self.keystone.session(user), service_type='block-storage',
                                  interface='public', region_name='RegionOne',
                                  raise_exc=False, additional_headers=MICROVERSION)

    def create_volume(self, http, **fields):
        response = http.post('/volumes', json={'volume': dict(size=1, **fields)})
        self.assertEqual(202, response.status_code, response.text)
        volume_id = response.json()['volume']['id']
        base.wait_for(lambda: http.get('/volumes/%s' % volume_id).json()['volume'][
            'status'] == 'available', timeout=30, interval=0.2)
        return volume_id

    def user_context(self, user):
        """What Nova's API hands its compute code for ``user``'s request: the token, its
        user and project, and the catalog as keystonemiddleware passes it to Nova
        (``X-Service-Catalog``)."""
        session = self.keystone.session(user)
        access = session.auth.get_access(session)
        request = ksm_request._AuthTokenRequest.blank('/')
        request.set_service_catalog_headers(access)
        return {'token': access.auth_token, 'user': access.user_id,
                'project': access.project_id,
                'catalog': json.loads(request.headers['X-Service-Catalog'])}

    def nova(self, nova_conf, name):
        process = test_nova.NovaProcess(None, self.tmp, nova_conf=nova_conf, name=name)
        self.addCleanup(process.close)
        self.addCleanup(lambda: self.addDetail(name + '.log', content.content_from_file(
            process.log, buffer_now=True)))
        return process

    def check_member_and_nova(self, nova_conf_block):
        """A member's volume, attached and detached by Nova's own code with the guide's
        nova.conf; then what goes wrong without the service token or role."""
        nova_conf = fill_in(nova_conf_block, {
            'http://keystone.example.org:5000/v3': self.keystone.url,
            'NOVA_PASSWORD': identity.PASSWORD})
        # Started first: the Nova processes import Nova while the member works.
        nova = self.nova(nova_conf, 'nova')
        without_service_token = self.nova(
            fill_in(nova_conf, {'send_service_user_token = true':
                                'send_service_user_token = false'}),
            'nova-without-service-token')
        http = self.block_storage('a-member')
        self.assertEqual([], http.get('/volumes').json()['volumes'])
        volume_id = self.create_volume(http)
        context = self.user_context('a-member')
        api = test_nova.NovaVolumeAPI(nova, context.pop('user'), context.pop('project'),
                                      **context)
        self.assertEqual('available', api.get(volume_id)['status'])
        # The legacy reservation, then the attachment flow of Nova's compute manager.
        api.reserve_volume(volume_id)
        self.assertEqual('attaching', api.get(volume_id)['status'])
        api.unreserve_volume(volume_id)
        attachment = api.attachment_create(volume_id, SERVER)
        self.assertEqual('reserved', api.get(volume_id)['status'])
        updated = api.attachment_update(attachment['id'], test_nova.connector('compute1'),
                                        mountpoint='/dev/vdb')
        self.assertEqual('local', updated['connection_info']['driver_volume_type'])
        api.attachment_complete(attachment['id'])
        self.assertEqual('in-use', api.get(volume_id)['status'])
        path = '/attachments/%s' % attachment['id']
        # The user alone may not delete a connected attachment, nor Nova without its
        # service token: 409, as the guide says.
        response = http.delete(path)
        self.assertEqual(409, response.status_code, response.text)
        self.assertIn('ConflictNovaUsingAttachment', response.text)
        no_token = test_nova.NovaVolumeAPI(without_service_token, api.user, api.project,
                                           **api.context)
        error = self.assertRaises(test_nova.NovaError, no_token.attachment_delete,
                                  attachment['id'])
        self.assertIn('ConflictNovaUsingAttachment', str(error))
        self.assertIn('(HTTP 409)', str(error))
        self.assertEqual('in-use', api.get(volume_id)['status'])
        # Nova, with the user's token and its service token, detaches.
        api.attachment_delete(attachment['id'])
        self.assertEqual('available', api.get(volume_id)['status'])
        # [cinder]'s own credentials (Nova's calls without a user) find attachd too.
        admin = test_nova.NovaVolumeAPI(nova, None, None, admin=True)
        self.assertIsInstance(admin.get_all_volume_types(), list)

        # Nova's user without the service role: its service token is refused.
        attachment = api.attachment_create(volume_id, SERVER,
                                           connector=test_nova.connector('compute1'))
        api.attachment_complete(attachment['id'])
        self.keystone_admin_request(
            'DELETE', '/projects/%s/users/%s/roles/%s' % (
                self.keystone.projects['service'], self.keystone.users['nova'],
                self.keystone.roles['service']))
        no_role = test_nova.NovaVolumeAPI(self.nova(nova_conf, 'nova-without-role'),
                                          api.user, api.project, **api.context)
        error = self.assertRaises(test_nova.NovaError, no_role.attachment_delete,
                                  attachment['id'])
        self.assertIn('(HTTP 401)', str(error))
        self.assertEqual('in-use', api.get(volume_id)['status'])

    def keystone_admin_request(self, method, path):
        session = self.keystone.session('admin')
        response = session.request(self.keystone.url + path, method)
        self.assertLess(response.status_code, 300, response.text)

    def check_ironic(self, ironic_conf_block):
        """Ironic's boot-from-volume attach and power-off detach, with the guide's
        ironic.conf and a member's token."""
        ironic_conf = fill_in(ironic_conf_block, {
            'http://keystone.example.org:5000/v3': self.keystone.url,
            'IRONIC_PASSWORD': identity.PASSWORD})
        http = self.block_storage('a-member')
        volume_id = self.create_volume(http)
        context = self.user_context('a-member')
        node = {'uuid': str(uuid.uuid4()), 'instance_uuid': str(uuid.uuid4())}
        connector = {'host': 'baremetal-node', 'initiator': 'iqn.2026-01.org.example:node',
                     'ip': '127.0.0.1', 'multipath': False}
        for action, status in (('attach', 'in-use'), ('detach', 'available')):
            request = {'action': action, 'config': ironic_conf,
                       'user_token': context['token'], 'user_id': context['user'],
                       'project_id': context['project'], 'node': node,
                       'volumes': [volume_id], 'connector': connector}
            result = subprocess.run(
                [sys.executable, ironic_volumes.__file__], input=json.dumps(request),
                capture_output=True, text=True, timeout=120,
                env=dict(os.environ, PYTHONWARNINGS='ignore'))
            self.addDetail('ironic-%s.log' % action, content.text_content(result.stderr))
            self.assertEqual(0, result.returncode, result.stderr[-3000:])
            outcome = json.loads(result.stdout)
            self.assertNotIn('error', outcome)
            if action == 'attach':
                [connection] = outcome['result']
                self.assertEqual('local', connection['driver_volume_type'])
            volume = http.get('/volumes/%s' % volume_id).json()['volume']
            self.assertEqual(status, volume['status'])

    def check_policy_file(self):
        """The guide's policy.yaml, written after the services started, is in force."""
        response = self.block_storage('a-member').post('/volumes', json={
            'volume': {'size': 1, 'multiattach': True}})
        self.assertEqual(403, response.status_code, response.text)
        self.assertIn('volume:multiattach', response.text)

    def check_token_cache(self):
        """keystonemiddleware keeps the tokens it validated in the guide's memcached."""
        with socket.create_connection(('127.0.0.1', self.memcached_port), timeout=10) as s:
            s.sendall(b'stats\r\n')
            stats = b''
            while not stats.endswith(b'END\r\n'):
                stats += s.recv(65536)
        items = int(re.search(rb'STAT curr_items (\d+)', stats).group(1))
        self.assertGreater(items, 0)

    def check_logs(self):
        """No warning, error or traceback in attachd's logs but the expected ones."""
        problems = []
        for unit in UNITS:
            with open(os.path.join(self.tmp, unit + '.log')) as f:
                log = f.read()
            self.addDetail(unit + '.log', content.text_content(log))
            problems += ['%s: %s' % (unit, line) for line in log.splitlines()
                         if PROBLEM.search(line)]
        for pattern, _why in EXPECTED_LOG_LINES:
            matched = [line for line in problems if re.search(pattern, line)]
            self.assertNotEqual([], matched, 'nothing matched %r' % pattern)
            problems = [line for line in problems if line not in matched]
        self.assertEqual([], problems)
