"""The tgt driver's reading of tgtadm's output and of what it is handed."""

from attachd import exception
from attachd.drivers import tgt
from attachd.tests import base

SHOW_TARGETS = """\
Target 1: iqn.2010-10.org.openstack:volume-v1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.1993-08.org.debian:01:abc alias: compute1
            Connection: 0
                IP Address: 10.0.0.2
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            Backing store type: null
            Backing store path: None
            Backing store flags:
        LUN: 1
            Type: disk
            Size: 1074 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /var/lib/attachd/volumes/volume-v1
            Backing store flags:
    Account information:
        user-v1
        user-v1-out (outgoing)
    ACL information:
        iqn.1993-08.org.debian:01:abc
        10.0.0.3
Target 2: iqn.2010-10.org.openstack:volume-v2
    System information:
        Driver: iscsi
        State: ready
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
    Account information:
    ACL information:
"""


class ParseTargetsTest(base.TestCase):

    def test_targets_luns_accounts_and_acl(self):
        targets = tgt.parse_targets(SHOW_TARGETS)
        self.assertEqual({
            'iqn.2010-10.org.openstack:volume-v1': {
                'tid': 1,
                'luns': {0: 'None', 1: '/var/lib/attachd/volumes/volume-v1'},
                'accounts': ['user-v1', 'user-v1-out'],
                'acl': ['iqn.1993-08.org.debian:01:abc', '10.0.0.3'],
            },
            'iqn.2010-10.org.openstack:volume-v2': {
                'tid': 2, 'luns': {0: 'None'}, 'accounts': [], 'acl': [],
            },
        }, targets)

    def test_no_targets(self):
        self.assertEqual({}, tgt.parse_targets(''))

    def test_nexus_initiators_are_not_taken_for_the_acl(self):
        acl = tgt.parse_targets(SHOW_TARGETS)['iqn.2010-10.org.openstack:volume-v1']['acl']
        self.assertNotIn('10.0.0.2', acl)

    def test_indented_target_line_is_not_a_target(self):
        self.assertEqual({}, tgt.parse_targets('  Target 1: iqn.x\n'))


class ParseAccountsTest(base.TestCase):

    def test_user_names_after_the_header(self):
        self.assertEqual(['user-v1', 'user-v2'], tgt.parse_accounts(
            'Account list:\n    user-v1\n    user-v2\n'))

    def test_no_accounts(self):
        self.assertEqual([], tgt.parse_accounts('Account list:\n'))
        self.assertEqual([], tgt.parse_accounts(''))


class ProviderAuthTest(base.TestCase):

    def test_chap(self):
        self.assertEqual(('user', 'secret'), tgt.parse_provider_auth('CHAP user secret'))

    def test_anything_else_is_none(self):
        for value in (None, '', 'CHAP user', 'CHAP a b c', 'PAP user secret'):
            self.assertIsNone(tgt.parse_provider_auth(value), value)


class IscsiNameTest(base.TestCase):

    def test_valid_names(self):
        for name in ('iqn.1993-08.org.debian:01:abc', 'iqn.2010-10.org.openstack:volume-1',
                     'eui.02004567A425678D'):
            self.assertTrue(tgt.valid_iscsi_name(name), name)

    def test_invalid_names(self):
        for name in (None, '', 'iqn', 'iqn.1993-08.org.debian:01:a b',
                     'iqn.1993-08.org.debian:01:abc;reboot', '--op delete',
                     'iqn.1993-08.org.debian:' + 'a' * 300, 42):
            self.assertFalse(tgt.valid_iscsi_name(name), name)

    def test_validate_connector(self):
        driver = tgt.TgtDriver.__new__(tgt.TgtDriver)
        driver.validate_connector({'initiator': 'iqn.1993-08.org.debian:01:abc'})
        for connector in ({}, {'initiator': ''}, {'initiator': 'not an iqn'}):
            self.assertRaises(exception.InvalidConnector, driver.validate_connector,
                              connector)
