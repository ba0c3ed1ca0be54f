"""What the views render: Cinder's shapes, secrets masked, timestamps, links."""

import datetime

import webob

from attachd import context
from attachd.api.views import attachments as attachment_views
from attachd.api.views import common
from attachd.objects import volume_attachment
from attachd.tests import base

ATTACHED_AT = datetime.datetime(2024, 5, 6, 7, 8, 9, 123, tzinfo=datetime.UTC)


def attachment(**values):
    defaults = dict(id='a1', volume_id='v1', instance_uuid='i1', attach_status='attached',
                    attach_mode='rw', attach_time=ATTACHED_AT, detach_time=None,
                    connection_info={'target_iqn': 'iqn.x', 'auth_password': 's3cret',
                                     'auth_username': 'u'})
    defaults.update(values)
    return volume_attachment.VolumeAttachment(context.get_admin_context(), **defaults)


class AttachmentViewTest(base.TestCase):

    def test_summary(self):
        self.assertEqual({'id': 'a1', 'status': 'attached', 'instance': 'i1',
                          'volume_id': 'v1'}, attachment_views.summary(attachment()))

    def test_detail_masks_secrets_unless_allowed(self):
        masked = attachment_views.detail(attachment(), show_secrets=False)
        self.assertEqual('***', masked['connection_info']['auth_password'])
        self.assertEqual('iqn.x', masked['connection_info']['target_iqn'])
        shown = attachment_views.detail(attachment(), show_secrets=True)
        self.assertEqual('s3cret', shown['connection_info']['auth_password'])

    def test_detail_timestamps_and_unset_values_as_cinder(self):
        view = attachment_views.detail(attachment(attach_mode=None, connection_info=None),
                                       show_secrets=False)
        self.assertEqual('2024-05-06T07:08:09.000123', view['attached_at'])
        self.assertEqual('', view['detached_at'])
        self.assertEqual('null', view['attach_mode'])
        self.assertEqual({}, view['connection_info'])
        self.assertNotIn('shared_connections_by_attachment', view)

    def test_detail_with_volume_format_and_shared_connections(self):
        view = attachment_views.detail(attachment(), show_secrets=True, volume_format='raw',
                                       shared_connections=['a2'])
        self.assertEqual('raw', view['connection_info']['format'])
        self.assertEqual(['a2'], view['shared_connections_by_attachment'])

    def test_masking_leaves_the_object_alone(self):
        item = attachment()
        attachment_views.detail(item, show_secrets=False, volume_format='raw')
        self.assertEqual({'target_iqn': 'iqn.x', 'auth_password': 's3cret',
                          'auth_username': 'u'}, item.connection_info)


def request(query=''):
    req = webob.Request.blank('http://api.example:8776/v3/p1/attachments' +
                              (query and '?' + query))
    req.context = context.RequestContext(project_id='p1')
    return req


class CommonViewTest(base.TestCase):

    def test_timestamp_is_naive_utc_with_microseconds(self):
        self.assertEqual('2024-05-06T07:08:09.000123', common.timestamp(ATTACHED_AT))
        self.assertIsNone(common.timestamp(None))

    def test_no_next_link_on_a_short_page(self):
        self.assertEqual([], common.next_link(request(), [{'id': 'a'}], 2))
        self.assertEqual({'attachments': []}, common.page(request(), 'attachments', [], 2))

    def test_next_link_on_a_full_page_keeps_the_query(self):
        body = common.page(request('status=attached&marker=old&offset=3&limit=2'),
                           'attachments', [{'id': 'a'}, {'id': 'b'}], 2)
        self.assertEqual(
            [{'rel': 'next', 'href': 'http://api.example:8776/v3/p1/attachments'
              '?status=attached&limit=2&marker=b'}], body['attachments_links'])
