"""Request bodies against the schemas, per microversion range."""

import webob

from attachd import exception
from attachd.api import microversion
from attachd.api import validation
from attachd.api.schemas import attachments
from attachd.api.schemas import volume_actions
from attachd.tests import base

VOLUME = '6f1d3b0c-6c58-4a4c-bd5b-2a0bc5f7c8a1'
CONNECTOR = {'initiator': 'iqn.1993-08.org.debian:01:abc', 'host': 'compute1'}


class AttachmentBodiesTest(base.TestCase):

    def valid(self, schema, body):
        validation.validate(schema, body)

    def invalid(self, schema, body):
        exc = self.assertRaises(exception.ValidationError, validation.validate, schema, body)
        self.assertEqual(400, exc.code)
        return str(exc)

    def test_create_needs_a_volume_uuid(self):
        self.valid(attachments.create, {'attachment': {'volume_uuid': VOLUME}})
        self.assertIn("'volume_uuid' is a required property",
                      self.invalid(attachments.create, {'attachment': {}}))
        self.invalid(attachments.create, {})

    def test_uuids_as_cinder_takes_them(self):
        # oslo's is_uuid_like: case-insensitive, hyphens optional.
        self.valid(attachments.create, {'attachment': {'volume_uuid': VOLUME.upper()}})
        self.valid(attachments.create,
                   {'attachment': {'volume_uuid': VOLUME.replace('-', '')}})
        message = self.invalid(attachments.create, {'attachment': {'volume_uuid': 'vol-1'}})
        self.assertIn('Invalid input for field/attribute attachment/volume_uuid', message)

    def test_create_connector_may_be_null(self):
        self.valid(attachments.create, {'attachment': {'volume_uuid': VOLUME,
                                                       'connector': None}})
        self.valid(attachments.create, {'attachment': {'volume_uuid': VOLUME,
                                                       'connector': CONNECTOR}})

    def test_unknown_property_is_refused(self):
        message = self.invalid(attachments.create,
                               {'attachment': {'volume_uuid': VOLUME, 'colour': 'red'}})
        self.assertIn('Additional properties are not allowed', message)

    def test_cinders_stray_type_property_is_accepted(self):
        self.valid(attachments.create, {'attachment': {'volume_uuid': VOLUME}, 'type': {}})

    def test_mode_only_from_3_54(self):
        body = {'attachment': {'volume_uuid': VOLUME, 'mode': 'ro'}}
        self.invalid(attachments.create, body)
        self.valid(attachments.create_v354, body)
        self.invalid(attachments.create_v354,
                     {'attachment': {'volume_uuid': VOLUME, 'mode': 'rx'}})

    def test_update_needs_a_non_empty_connector(self):
        self.valid(attachments.update, {'attachment': {'connector': CONNECTOR}})
        self.invalid(attachments.update, {'attachment': {'connector': {}}})
        self.invalid(attachments.update, {'attachment': {}})
        self.invalid(attachments.update, {'attachment': {'connector': CONNECTOR,
                                                         'mode': 'rw'}})

    def test_complete_takes_any_value(self):
        for value in (None, {}, VOLUME):
            self.valid(attachments.complete, {'os-complete': value})
        self.invalid(attachments.complete, {'os-complete': None, 'other': 1})

    def test_reserve_takes_null_or_an_object(self):
        self.valid(volume_actions.reserve, {'os-reserve': None})
        self.valid(volume_actions.reserve, {'os-reserve': {}})
        self.invalid(volume_actions.reserve, {'os-reserve': 'now'})


def request(version, body):
    req = webob.Request.blank('/', method='POST', json=body)
    req.environ[microversion.ENVIRON_KEY] = microversion.parse(version)
    return req


class SchemaDecoratorTest(base.TestCase):

    def setUp(self):
        super().setUp()

        @validation.schema(attachments.create, '3.27', '3.53')
        @validation.schema(attachments.create_v354, '3.54')
        def handler(req):
            return 'served'
        self.handler = handler

    def test_each_range_uses_its_schema(self):
        with_mode = {'attachment': {'volume_uuid': VOLUME, 'mode': 'ro'}}
        self.assertRaises(exception.ValidationError, self.handler,
                          request('3.53', with_mode))
        self.assertEqual('served', self.handler(request('3.54', with_mode)))

    def test_the_ranges_are_listed_for_the_openapi_document(self):
        self.assertEqual([('3.27', '3.53', attachments.create),
                          ('3.54', None, attachments.create_v354)],
                         self.handler.body_schemas)
