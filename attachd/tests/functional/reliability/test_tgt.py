"""The tgt backend under attack and failure, through the HTTP API where a caller would go:
no shell ever, secrets never logged, access revoked, exports restored after tgtd dies.

Each test runs its own tgtd (own control port and portal port, see
``attachd.tests.functional.drivers.test_tgt``) and kills it afterwards; a real initiator
(qemu-io's libiscsi) checks who can log in.
"""

import subprocess

import fixtures

from attachd.drivers import tgt
from attachd.tests.functional.drivers import test_tgt
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional.manager import base as mbase
from attachd.tests.functional.reliability import base as rbase

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
                                 roles='member,reader,service')

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
        real_run = subprocess.run

        def spy(args, *a, **kw):
            calls.append((args, kw))
            return real_run(args, *a, **kw)

        def forbidden(*a, **kw):
            raise AssertionError('shell used: %r %r' % (a, kw))

        real_popen = subprocess.Popen
        popened = []

        def popen(args, *a, **kw):
            # Whatever path leads to a process (run() included) ends here.
            if kw.get('shell') or not isinstance(args, list):
                forbidden(args, **kw)
            popened.append(args)
            return real_popen(args, *a, **kw)

        self.useFixture(fixtures.MockPatchObject(tgt.subprocess, 'run', spy))
        self.useFixture(fixtures.MockPatchObject(tgt.subprocess, 'Popen', popen))
        for name in ('getoutput', 'getstatusoutput'):
            self.useFixture(fixtures.MockPatchObject(tgt.subprocess, name, forbidden))
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
