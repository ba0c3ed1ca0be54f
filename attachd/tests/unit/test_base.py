"""The test base's service checks and the embedded defaults of the configuration."""

import os

import fixtures
import testtools

from attachd import context
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf
from attachd.tests import base


class NeedServiceTest(base.TestCase):
    def test_present_service_neither_skips_nor_fails(self):
        base.need_service(self, 'thing', True)

    def test_missing_service_skips_by_default(self):
        self.useFixture(fixtures.EnvironmentVariable('ATTACHD_TEST_REQUIRE_SERVICES'))
        self.assertRaises(self.skipException, base.need_service, self, 'thing', False)

    def test_missing_service_fails_when_required(self):
        self.useFixture(fixtures.EnvironmentVariable('ATTACHD_TEST_REQUIRE_SERVICES', '1'))
        self.assertRaises(self.failureException, base.need_service, self, 'thing', False)

    def test_closed_port_is_reported_closed(self):
        self.assertFalse(base.port_open(1, timeout=0.2))


class EmbeddedDefaultsTest(base.TestCase):
    def test_database_is_sqlite_under_state_path(self):
        self.assertEqual('sqlite:///%s' % os.path.join(self.state_path, 'attachd.sqlite'),
                         CONF.database.connection)

    def test_no_broker_and_noauth_on_default_port(self):
        self.assertIsNone(messaging_conf.transport_url(CONF))
        self.assertEqual('noauth', CONF.api.auth_strategy)
        self.assertEqual(8776, CONF.api.bind_port)
        self.assertEqual(['file'], CONF.enabled_backends)


class ContextTest(testtools.TestCase):
    def test_admin_role_makes_admin(self):
        self.assertTrue(context.RequestContext(roles=['admin']).is_admin)
        self.assertFalse(context.RequestContext(roles=['member']).is_admin)

    def test_only_the_service_token_makes_a_service(self):
        self.assertTrue(context.RequestContext(roles=['member'],
                                               service_roles=['service']).is_service)
        # The caller's own roles do not count (OSSA-2023-003, as Cinder).
        self.assertFalse(context.RequestContext(roles=['service']).is_service)
        self.assertFalse(context.RequestContext(roles=['member']).is_service)
        self.assertFalse(context.RequestContext(roles=['service'],
                                                service_roles=['member']).is_service)

    def test_elevated_copy_leaves_original_alone(self):
        ctx = context.RequestContext(roles=['member'], project_id='p')
        admin = ctx.elevated()
        self.assertTrue(admin.is_admin)
        self.assertFalse(ctx.is_admin)
        self.assertEqual(['member'], ctx.roles)

    def test_round_trip_through_dict(self):
        ctx = context.RequestContext(user_id='u', project_id='p', roles=['admin'])
        again = context.RequestContext.from_dict(ctx.to_dict())
        self.assertTrue(again.is_admin)
        self.assertEqual('p', again.project_id)


class ServiceTokenRolesTest(base.TestCase):
    def test_roles_come_from_keystonemiddleware_option(self):
        # Cinder's option: [keystone_authtoken] service_token_roles.
        ctx = context.RequestContext(roles=['member'], service_roles=['nova-service'])
        self.assertFalse(ctx.is_service)
        self.flags(group='keystone_authtoken', service_token_roles=['nova-service'])
        self.assertTrue(ctx.is_service)
