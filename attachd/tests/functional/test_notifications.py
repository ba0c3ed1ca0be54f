"""Notifications of an attach cycle, from the API and the manager together, and of a
fence and its lift."""

from oslo_messaging.notify import _impl_test as test_notifier

from attachd import notifications
from attachd.tests import base
from attachd.tests.functional import fixtures

INSTANCE = '6f2b1c9e-0000-4000-8000-000000000001'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.1993-08.org.debian:01:c1',
             'platform': 'x86_64', 'os_type': 'linux', 'multipath': False}


class AttachCycleNotificationTest(base.TestCase):
    def setUp(self):
        super().setUp()
        self.api = self.useFixture(fixtures.APIFixture())
        notifications.reset()
        notifications.get_notifier()
        self.flags(driver=['test'], group='oslo_messaging_notifications')
        notifications.reset()
        self.addCleanup(notifications.reset)
        # The manager of the fixture has no notifier; give it the same one the API uses.
        self.api.manager.notifier = notifications.get_notifier('node')
        test_notifier.reset()
        self.client = fixtures.Client(self.api.app, version='3.44', service=True)

    def _events(self):
        return [(m['event_type'], m['payload']) for _c, m, _p, _r
                in test_notifier.NOTIFICATIONS]

    def test_attach_cycle(self):
        volume = self.client.create_volume()
        test_notifier.reset()
        created = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': INSTANCE}}).json['attachment']
        self.client.put('/v3/attachments/%s' % created['id'],
                        {'attachment': {'connector': CONNECTOR}})
        response = self.client.post('/v3/attachments/%s/action' % created['id'],
                                    {'os-complete': None})
        self.assertEqual(204, response.status_int)
        self.client.delete('/v3/attachments/%s' % created['id'])
        events = self._events()
        self.assertEqual([notifications.ATTACHMENT_CREATE,
                          notifications.VOLUME_ATTACH_START,
                          notifications.ATTACHMENT_UPDATE,
                          notifications.ATTACHMENT_COMPLETE,
                          notifications.VOLUME_ATTACH_END,
                          notifications.VOLUME_DETACH_START,
                          notifications.ATTACHMENT_DELETE,
                          notifications.VOLUME_DETACH_END],
                         [event for event, _payload in events])
        for event, payload in events:
            self.assertEqual(volume['id'], payload['volume_id'], event)
            self.assertEqual(created['id'], payload['attachment_id'], event)
        self.assertEqual('in-use', dict(events)[notifications.VOLUME_ATTACH_END]['status'])
        self.assertEqual('available',
                         dict(events)[notifications.VOLUME_DETACH_END]['status'])

    def test_deleting_a_reservation_notifies_detach_from_the_api(self):
        volume = self.client.create_volume()
        created = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': INSTANCE}}).json['attachment']
        test_notifier.reset()
        self.client.delete('/v3/attachments/%s' % created['id'])
        self.assertEqual([notifications.VOLUME_DETACH_START,
                          notifications.ATTACHMENT_DELETE,
                          notifications.VOLUME_DETACH_END],
                         [event for event, _payload in self._events()])

    def test_fence_and_its_lift_notify_once_each(self):
        volume = self.client.create_volume()
        created = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': INSTANCE,
            'connector': CONNECTOR}}).json['attachment']
        test_notifier.reset()
        admin = fixtures.Client(self.api.app, token='admin:adadadad', version='3.44')
        fence = {'fence': {'host': CONNECTOR['host']}}
        self.assertEqual(200, admin.post('/v3/fences', fence).status_int)
        # Fencing again answers the standing fence and creates nothing: no notification.
        self.assertEqual(200, admin.post('/v3/fences', fence).status_int)
        self.assertEqual(204, admin.delete(
            '/v3/fences/%s' % CONNECTOR['host']).status_int)
        events = [(event, payload) for event, payload in self._events()
                  if event.startswith('fence.')]
        self.assertEqual([notifications.FENCE_CREATE, notifications.FENCE_DELETE],
                         [event for event, _payload in events])
        for event, payload in events:
            self.assertEqual(CONNECTOR['host'], payload['host'], event)
            self.assertEqual([created['id']], payload['attachments'], event)
            self.assertIsNotNone(payload['created_at'], event)
