"""The tgt backend under attack and failure, through the HTTP API where a caller would go:
no shell ever, secrets never logged, access revoked, exports restored after tgtd dies.

Each test runs its own tgtd (own control port and portal port, see
``attachd.tests.functional.drivers.test_tgt``) and kills it afterwards; a real initiator
(qemu-io's libiscsi) checks who can log in.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import fixtures
from oslo_concurrency import processutils

from attachd import context
from attachd.drivers import tgt
from attachd.manager import rpcapi
from attachd.objects import volume as volume_obj
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional.drivers import test_tgt
from attachd.tests.functional.manager import base as mbase
from attachd.tests.functional.reliability import base as rbase
from attachd.tests.functional.reliability import services

HOST_A = mbase.connector('compute1', 'iqn.2026-01.org.example:compute1')
HOST_B = mbase.connector('compute2', 'iqn.2026-01.org.example:compute2')
NEVER = 'iqn.2026-01.org.example:never-attached'


class TgtApiTestCase(test_tgt.TgtTestCase):
    """A tgt manager (from TgtTestCase) behind the paste-loaded API."""

    def setUp(self):
        super().setUp()
        self.api_fixture = self.useFixture(api_fixtures.APIFixture(own_database=False,
                                                                   with_manager=False))
        # The API fixture gave itself a state directory: the manager's (and its
        # tgtd's) is this test's, and the backend's options are set again.
        self.flags(state_path=self.state_path)
        self.register_backend()
        self.client = rbase.Client(self.api_fixture.app, token='user:project')
        self.nova = rbase.Client(self.api_fixture.app, token='user:project',
                                 headers=rbase.NOVA_SERVICE_TOKEN)

    def http_attach(self, volume, connector, instance):
        created = self.nova.create(volume.id, instance)
        self.assertEqual(200, created.status, created)
        attachment_id = created.json['attachment']['id']
        updated = self.nova.update(attachment_id, connector)
        self.assertEqual(200, updated.status, updated)
        self.assertEqual(204, self.nova.complete(attachment_id).status)
        return attachment_id, updated.json['attachment']['connection_info']

    def target_view(self):
        """What a host depends on, per target: LUNs and backing files, ACL, accounts
        (tids may change when tgtd restarts)."""
        return {iqn: (target['luns'], sorted(target['acl']), sorted(target['accounts']))
                for iqn, target in self.targets().items()}


class TgtSecurityTest(TgtApiTestCase):

    def test_tgt_driver_never_uses_a_shell(self):
        calls = []
        real_execute = processutils.execute

        def spy(*args, **kw):
            calls.append((list(args), kw))
            return real_execute(*args, **kw)

        def forbidden(*a, **kw):
            raise AssertionError('shell used: %r %r' % (a, kw))

        real_popen = subprocess.Popen
        popened = []

        def popen(args, *a, **kw):
            # Whatever path leads to a process (run() included) ends here.
            # processutils hands Popen a tuple: an argument vector all the same.
            if kw.get('shell') or not isinstance(args, (list, tuple)):
                forbidden(args, **kw)
            popened.append(list(args))
            return real_popen(args, *a, **kw)

        self.useFixture(fixtures.MockPatchObject(tgt.processutils, 'execute', spy))
        self.useFixture(fixtures.MockPatchObject(processutils.subprocess, 'Popen', popen))
        for name in ('getoutput', 'getstatusoutput', 'run'):
            self.useFixture(fixtures.MockPatchObject(subprocess, name, forbidden))
        self.useFixture(fixtures.MockPatch('os.system', forbidden))
        self.useFixture(fixtures.MockPatch('os.popen', forbidden))

        volume = self.create(multiattach=True)
        first, _info = self.http_attach(volume, HOST_A, mbase.INSTANCE_A)
        second, _info = self.http_attach(volume, HOST_B, mbase.INSTANCE_B)
        # Shell metacharacters in the initiator never reach tgtadm: refused with a 400.
        third = self.nova.create(volume.id, rbase.instance(3)).json['attachment']['id']
        for initiator in ('iqn.2026-01.org.example:a;reboot', '$(reboot)',
                          'iqn.2026-01.org.example:a`id`', 'iqn.2026-01.org.example:a b',
                          'iqn.2026-01.org.example:a|b', '-h', '--op=delete'):
            response = self.nova.update(third, mbase.connector('x', initiator))
            self.assertEqual(400, response.status, response)
            self.assertIn('initiator', response.json['badRequest']['message'])
        self.assertEqual(200, self.nova.remove(first).status)
        self.assertEqual(200, self.nova.remove(second).status)

        self.assertGreater(len(calls), 10)
        self.assertEqual([args for args, _kw in calls], popened)
        for args, kw in calls:
            self.assertIsInstance(args, list)
            self.assertTrue(all(isinstance(a, str) for a in args), args)
            self.assertIn(args[0], ('tgtadm', 'tgtd'))
            self.assertFalse(kw.get('shell', False), args)
            self.assertFalse(any(';' in a or '$(' in a or '`' in a or '|' in a
                                 for a in args), args)

    def test_secrets_never_logged_over_a_full_attach_detach(self):
        log = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        volume = self.create()
        attachment_id, info = self.http_attach(volume, HOST_A, mbase.INSTANCE_A)
        self.assertEqual(200, self.nova.get('/attachments/%s' % attachment_id).status)
        self.assertEqual(200, self.nova.get('/attachments/detail').status)
        self.assertEqual(200, self.nova.get('/volumes/%s' % volume.id).status)
        self.assertLogsIn(info, HOST_A['initiator'])
        self.assertEqual(200, self.nova.remove(attachment_id).status)
        # A failing update logs its error too.
        again = self.nova.create(volume.id, mbase.INSTANCE_A).json['attachment']['id']
        self.assertEqual(400, self.nova.update(again, {'host': 'h'}).status)
        secret = info['auth_password']
        provider_auth = self.reload(volume).provider_auth
        self.assertIn(secret, provider_auth)
        output = log.output
        self.assertIn('tgtadm', output)
        self.assertNotIn(secret, output)
        self.assertNotIn(provider_auth, output)

    def test_access_revoked_after_delete(self):
        volume = self.create()
        attachment_id, info = self.http_attach(volume, HOST_A, mbase.INSTANCE_A)
        self.assertLogsIn(info, HOST_A['initiator'])
        # An initiator that never had an attachment: refused, with or without the secret.
        self.assertRefused(info, NEVER)
        self.assertRefused(info, NEVER, password=info['auth_password'])
        # A wrong secret: refused.
        self.assertRefused(info, HOST_A['initiator'], password='Wrong-secret-0000')
        self.assertEqual(200, self.nova.remove(attachment_id).status)
        self.assertRefused(info, HOST_A['initiator'])
        self.assertEqual({}, self.targets())

    def test_chap_credentials_differ_per_volume(self):
        infos = []
        for i in range(3):
            volume = self.create()
            _attachment, info = self.http_attach(volume, HOST_A, rbase.instance(i))
            infos.append(info)
        self.assertEqual(3, len({i['auth_username'] for i in infos}))
        self.assertEqual(3, len({i['auth_password'] for i in infos}))
        # One volume's account does not open another's target.
        crossed = dict(infos[1], auth_username=infos[0]['auth_username'])
        self.assertRefused(crossed, HOST_A['initiator'], password=infos[0]['auth_password'])


class TgtFaultTest(TgtApiTestCase):

    def test_tgtd_killed_exports_come_back_identical(self):
        one = self.create(multiattach=True)
        two = self.create()
        _a, info_a = self.http_attach(one, HOST_A, mbase.INSTANCE_A)
        _b, info_b = self.http_attach(one, HOST_B, mbase.INSTANCE_B)
        _c, info_c = self.http_attach(two, HOST_A, rbase.instance(3))
        before = self.target_view()
        self.assertEqual(2, len(before))
        self.kill_tgtd()
        # The manager notices on its periodic check (called here rather than waited
        # for) and re-creates every export from the database.
        self.svc.check_exports()
        self.assertEqual(before, self.target_view())
        # Hosts reconnect with the connection_info they already have.
        self.assertLogsIn(info_a, HOST_A['initiator'])
        self.assertLogsIn(info_b, HOST_B['initiator'])
        self.assertLogsIn(info_c, HOST_A['initiator'])
        self.assertRefused(info_c, HOST_B['initiator'])

    def test_tgtd_killed_while_the_manager_is_down(self):
        volume = self.create()
        _a, info = self.http_attach(volume, HOST_A, mbase.INSTANCE_A)
        before = self.target_view()
        self._stop(self.svc)
        self.kill_tgtd()
        # The next start brings tgtd up and the export back.
        self.svc = self.start_manager('tgt')
        self.assertEqual(before, self.target_view())
        self.assertLogsIn(info, HOST_A['initiator'])


class ManagerKilledTest(base.PostgreSQLMixin, base.DbTestCase):
    """attachd-manager (a real process, over the shared RabbitMQ, with its own tgtd)
    SIGKILLed while an update has granted access but not recorded it; then restarted."""

    def setUp(self):
        super().setUp()
        base.need_rabbit(self)
        base.need_service(self, 'tgtd, tgtadm and qemu-io as root', test_tgt.tgt_usable())
        self.host = 'killed-%s' % rbase.new_uuid()[:8]
        # tgtd refuses large control ports (exit 34); distinct from TgtTestCase's.
        self.control_port = 1000 + (os.getpid() + 15000) % 30000
        self.portal_port = services.free_port()
        url = 'rabbit://guest:guest@127.0.0.1:5672/'
        self.flags(transport_url=url, rpc_response_timeout_api=5)
        self.flags(report_interval=1, group='manager')
        self.config = os.path.join(self.state_path, 'attachd.conf')
        with open(self.config, 'w') as f:
            f.write(MANAGER_CONF % {
                'url': url, 'host': self.host, 'state_path': self.state_path,
                'db': self.engine.url.render_as_string(hide_password=False),
                'control_port': self.control_port, 'portal_port': self.portal_port})
        self.marker = os.path.join(self.state_path, 'blocked')
        self.addCleanup(self.kill_tgtd)
        self.api_fixture = self.useFixture(api_fixtures.APIFixture(own_database=False,
                                                                   with_manager=False))
        self.flags(transport_url=url, rpc_response_timeout_api=5)
        self.nova = rbase.Client(self.api_fixture.app, token='user:project',
                                 headers=rbase.NOVA_SERVICE_TOKEN)
        self.process = None

    def start(self, block):
        env = dict(os.environ)
        env.pop('ATTACHD_TEST_BLOCK_MARKER', None)
        if block:
            env['ATTACHD_TEST_BLOCK_MARKER'] = self.marker
        log = open(os.path.join(self.state_path, 'manager-%d.log' % block), 'w')
        self.addCleanup(log.close)
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'attachd.tests.functional.reliability.blocking_manager',
             '--config-file', self.config], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(self._kill, self.process)
        services.wait_until(lambda: 'serving' in open(log.name).read(), timeout=60)
        self.assertIsNone(self.process.poll(), open(log.name).read()[-3000:])

    @staticmethod
    def _kill(process):
        if process.poll() is None:
            process.kill()
        process.wait(30)

    def kill_tgtd(self):
        pid_file = os.path.join(self.state_path, 'tgt-volumes',
                                'tgtd-%d.pid' % self.control_port)
        try:
            with open(pid_file) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def targets(self):
        out = subprocess.run(['tgtadm', '--control-port', str(self.control_port), '--lld',
                              'iscsi', '--op', 'show', '--mode', 'target'],
                             capture_output=True, text=True, timeout=30).stdout
        return tgt.parse_targets(out)

    def test_sigkill_during_update_then_restart(self):
        self.start(block=True)
        volume = volume_obj.Volume(self.api_fixture_ctx(), size=1, project_id='project',
                                   user_id='user', status='creating',
                                   attach_status='detached', host='%s@tgt' % self.host)
        volume.create()
        rpcapi.ManagerAPI().create_volume(self.api_fixture_ctx(), volume)
        rbase.wait_for(lambda: volume_obj.Volume.get_by_id(
            self.api_fixture_ctx(), volume.id, project_only=False).status == 'available',
            timeout=30)
        created = self.nova.create(volume.id, mbase.INSTANCE_A)
        self.assertEqual(200, created.status, created)
        attachment_id = created.json['attachment']['id']

        answers = []
        caller = threading.Thread(target=lambda: answers.append(
            self.nova.update(attachment_id, HOST_A)), daemon=True)
        started = time.monotonic()
        caller.start()
        rbase.wait_for(lambda: os.path.exists(self.marker), timeout=30)
        # Access granted, not recorded: the manager dies here.
        self.assertEqual([HOST_A['initiator']],
                         self.targets()['iqn.2026-01.org.attachd.test:volume-%s'
                                        % volume.id]['acl'])
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        caller.join(30)
        self.assertFalse(caller.is_alive())
        # The API answered within its timeout (5 s), with a clean fault.
        self.assertLess(time.monotonic() - started, 5 + 10)
        self.assertIn(answers[0].status, (503, 504), answers[0])
        self.assertEqual(['computeFault' if answers[0].status == 504 else
                          'serviceUnavailable'], list(answers[0].json))
        shown = self.nova.get('/attachments/%s' % attachment_id).json['attachment']
        self.assertEqual('reserved', shown['status'])
        self.assertEqual({}, shown['connection_info'])

        # Restarted: its reconciliation removes the export nobody owns...
        self.start(block=False)
        self.assertEqual({}, self.targets())
        # ... and Nova's retry connects for real.
        retry = self.nova.update(attachment_id, HOST_A)
        self.assertEqual(200, retry.status, retry)
        info = retry.json['attachment']['connection_info']
        code, output = test_tgt.qemu_io(info, HOST_A['initiator'], 'read 0 512')
        self.assertEqual(0, code, output)
        code, _output = test_tgt.qemu_io(info, NEVER, 'read 0 512')
        self.assertNotEqual(0, code)

    def api_fixture_ctx(self):
        return context.get_admin_context()


MANAGER_CONF = """
[DEFAULT]
transport_url = %(url)s
host = %(host)s
state_path = %(state_path)s
enabled_backends = tgt
debug = true

[database]
connection = %(db)s

[manager]
report_interval = 1

[tgt]
connector_driver = tgt
tgt_control_port = %(control_port)d
tgt_portal_port = %(portal_port)d
tgt_iqn_prefix = iqn.2026-01.org.attachd.test:
"""
