"""Response bodies against JSON schemas of what tempest validates.

Tempest checks the volume views strictly (no key it does not know, spec section 6.6), the
versions documents, and expects 200 with a JSON body from attachment show and delete
(``AttachmentsClient``). The schemas below are attachd's own statement of those rules,
per microversion (3.0; 3.48 adds ``shared_targets`` and ``service_uuid``; 3.61, 3.63,
3.64 and 3.65 add a key each; 3.69 lets ``shared_targets`` be null) and per caller (the
admin-only keys must be absent for a member), so a view that gains, loses or mistypes a
key fails here before it fails in a tempest run.
"""

import iso8601
import jsonschema
from oslo_utils import uuidutils
import testscenarios

from attachd.api import microversion
from attachd import context
from attachd.db import api as db_api
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

load_tests = testscenarios.load_tests_apply_scenarios

SERVER = '33333333-3333-3333-3333-333333333333'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.1993-08.org.debian:01:c1',
             'mountpoint': '/dev/vdb'}
MEMBER_TOKEN = 'alice:aaaaaaaa'
ADMIN_TOKEN = 'admin:aaaaaaaa'

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks('uuid')
def _is_uuid(value):
    return not isinstance(value, str) or uuidutils.is_uuid_like(value)


@FORMATS.checks('timestamp', raises=iso8601.ParseError)
def _is_timestamp(value):
    if isinstance(value, str):
        iso8601.parse_date(value)
    return True


@FORMATS.checks('url')
def _is_url(value):
    return not isinstance(value, str) or value.startswith(('http://', 'https://'))


def _nullable(schema):
    return dict(schema, type=[schema['type'], 'null'])


UUID = {'type': 'string', 'format': 'uuid'}
TIMESTAMP = {'type': 'string', 'format': 'timestamp'}
STRING = {'type': 'string'}
NULLABLE_STRING = {'type': ['string', 'null']}
BOOLEAN = {'type': 'boolean'}


def closed_object(properties, optional=()):
    """An object with exactly ``properties``: all required but ``optional``, no others."""
    return {'type': 'object', 'properties': properties,
            'required': sorted(set(properties) - set(optional)),
            'additionalProperties': False}


LINKS = {'type': 'array', 'items': closed_object({
    'href': {'type': 'string', 'format': 'url'}, 'rel': STRING})}

# One entry of a volume's ``attachments``: tempest allows exactly these keys.
VOLUME_ATTACHMENT = closed_object({
    'id': UUID,
    'attachment_id': UUID,
    'volume_id': UUID,
    'server_id': UUID,
    'host_name': NULLABLE_STRING,
    'device': NULLABLE_STRING,
    'attached_at': _nullable(TIMESTAMP),
}, optional=['attached_at'])

# The keys of tempest's 3.0 volume schema that every caller sees.
_VOLUME_BASE = {
    'id': UUID,
    'name': NULLABLE_STRING,
    'links': LINKS,
    'status': STRING,
    'size': {'type': 'integer'},
    'availability_zone': NULLABLE_STRING,
    'created_at': TIMESTAMP,
    'updated_at': _nullable(TIMESTAMP),
    'description': NULLABLE_STRING,
    'volume_type': NULLABLE_STRING,
    'snapshot_id': _nullable(UUID),
    'source_volid': _nullable(UUID),
    'consistencygroup_id': _nullable(UUID),
    'metadata': {'type': 'object'},
    'user_id': STRING,
    'bootable': {'type': 'string', 'enum': ['true', 'false']},
    'encrypted': BOOLEAN,
    'replication_status': NULLABLE_STRING,
    'multiattach': BOOLEAN,
    'attachments': {'type': 'array', 'items': VOLUME_ATTACHMENT},
    # Cinder's default policy shows the owner its own project.
    'os-vol-tenant-attr:tenant_id': STRING,
}

# Shown to admins only (Cinder's default policies); tempest allows each of them.
_VOLUME_ADMIN = {
    'os-vol-host-attr:host': {'type': ['string', 'null'], 'pattern': '.+@.+#.+'},
    'migration_status': NULLABLE_STRING,
    'os-vol-mig-status-attr:migstat': NULLABLE_STRING,
    'os-vol-mig-status-attr:name_id': _nullable(UUID),
}

# (microversion, key, schema, admins only)
_VOLUME_BY_VERSION = [
    (microversion.GROUP_ID, 'group_id', _nullable(UUID), False),
    (microversion.PROVIDER_ID, 'provider_id', _nullable(UUID), True),
    (microversion.SHARED_TARGETS, 'service_uuid', _nullable(UUID), False),
    (microversion.SHARED_TARGETS, 'shared_targets', BOOLEAN, False),
    (microversion.CLUSTER_NAME, 'cluster_name', NULLABLE_STRING, True),
    (microversion.VOLUME_TYPE_ID, 'volume_type_id', _nullable(UUID), False),
    (microversion.ENCRYPTION_KEY_ID, 'encryption_key_id', _nullable(UUID), False),
    (microversion.CONSUMES_QUOTA, 'consumes_quota', BOOLEAN, False),
    (microversion.SHARED_TARGETS_TRISTATE, 'shared_targets', _nullable(BOOLEAN), False),
]


def volume_schema(version, admin):
    """The detail view of one volume at ``version`` for an admin or a member."""
    properties = dict(_VOLUME_BASE)
    if admin:
        properties.update(_VOLUME_ADMIN)
    wanted = microversion.parse(version)
    for since, key, schema, admin_only in _VOLUME_BY_VERSION:
        if wanted >= microversion.parse(since) and (admin or not admin_only):
            properties[key] = schema
    # volume_image_metadata only appears for volumes made from an image.
    properties['volume_image_metadata'] = {'type': ['object', 'null']}
    return closed_object(properties, optional=['volume_image_metadata'])


VOLUME_SUMMARY = closed_object({'id': UUID, 'name': NULLABLE_STRING, 'links': LINKS})


def show_volume_schema(version, admin):
    return closed_object({'volume': volume_schema(version, admin)})


def list_schema(item):
    return closed_object({'volumes': {'type': 'array', 'items': item},
                          'volumes_links': LINKS}, optional=['volumes_links'])


VERSIONS = closed_object({'versions': {'type': 'array', 'minItems': 1, 'items': closed_object({
    'id': STRING,
    'status': {'type': 'string', 'enum': ['CURRENT', 'SUPPORTED', 'DEPRECATED']},
    'version': {'type': 'string', 'pattern': r'^3\.[0-9]+$'},
    'min_version': {'type': 'string', 'pattern': r'^3\.[0-9]+$'},
    'updated': TIMESTAMP,
    'links': {'type': 'array', 'items': closed_object({
        'href': {'type': 'string', 'format': 'url'}, 'rel': STRING, 'type': STRING},
        optional=['type'])},
    'media-types': {'type': 'array', 'minItems': 1,
                    'items': closed_object({'base': STRING, 'type': STRING})},
})}})

_EMPTY_OR_TIMESTAMP = {'anyOf': [{'const': ''}, TIMESTAMP]}
ATTACHMENT_SUMMARY = closed_object({
    'id': UUID,
    'status': {'type': 'string', 'enum': ['reserved', 'attaching', 'attached', 'detaching',
                                          'error_attaching', 'error_detaching']},
    'instance': _nullable(UUID),
    'volume_id': UUID,
})
ATTACHMENT_DETAIL = closed_object(dict(
    ATTACHMENT_SUMMARY['properties'],
    attached_at=_EMPTY_OR_TIMESTAMP,
    detached_at=_EMPTY_OR_TIMESTAMP,
    attach_mode={'type': 'string', 'enum': ['rw', 'ro', 'null']},
    connection_info={'type': 'object'},
    shared_connections_by_attachment={'type': 'array', 'items': UUID},
), optional=['shared_connections_by_attachment'])
SHOW_ATTACHMENT = closed_object({'attachment': ATTACHMENT_DETAIL})
DELETE_ATTACHMENT = closed_object({
    'attachments': {'type': 'array', 'items': ATTACHMENT_SUMMARY},
    'shared_connections_by_attachment': {'type': 'array', 'items': UUID},
})


def validate(schema, body):
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)


class SchemaSelfTest(base.TestCase):
    """The schemas refuse what tempest refuses: they would catch a broken view."""

    def _detail(self):
        return {
            'id': SERVER, 'name': None, 'status': 'available', 'size': 1,
            'links': [{'rel': 'self', 'href': 'http://x/v3/p/volumes/%s' % SERVER}],
            'availability_zone': 'nova', 'created_at': '2026-01-02T03:04:05.000000',
            'updated_at': None, 'description': None, 'volume_type': None,
            'snapshot_id': None, 'source_volid': None, 'consistencygroup_id': None,
            'metadata': {}, 'user_id': 'alice', 'bootable': 'false', 'encrypted': False,
            'replication_status': 'disabled', 'multiattach': False, 'attachments': [],
            'os-vol-tenant-attr:tenant_id': 'aaaaaaaa', 'group_id': None,
            'service_uuid': None, 'shared_targets': True,
        }

    def test_a_valid_view_passes(self):
        validate(volume_schema('3.48', admin=False), self._detail())

    def test_extra_attachment_key_is_refused(self):
        view = self._detail()
        view['attachments'] = [{'id': SERVER, 'attachment_id': SERVER, 'volume_id': SERVER,
                                'server_id': SERVER, 'host_name': None, 'device': None,
                                'attach_mode': 'rw'}]
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.48', admin=False), view)

    def test_null_shared_targets_is_refused_below_369(self):
        view = dict(self._detail(), shared_targets=None)
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.48', admin=False), view)
        view.update(volume_type_id=None, encryption_key_id=None, consumes_quota=True)
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.68', admin=False), view)
        validate(volume_schema('3.69', admin=False), view)

    def test_admin_keys_are_refused_for_members(self):
        view = dict(self._detail(), migration_status=None)
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.48', admin=False), view)

    def test_missing_and_malformed_values_are_refused(self):
        view = self._detail()
        del view['shared_targets']
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.48', admin=False), view)
        view = dict(self._detail(), created_at='yesterday')
        self.assertRaises(jsonschema.ValidationError, validate,
                          volume_schema('3.48', admin=False), view)


class VolumeViewSchemaTest(base.DbTestCase):
    """Show, list and detail of volumes with and without attachments."""

    scenarios = [
        ('%s-%s' % (version, who), {'version': version, 'admin': who == 'admin'})
        for version in ('3.0', '3.48', '3.69', '3.71') for who in ('member', 'admin')
    ]

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        owner = api_fixtures.Client(self.api.app, token=MEMBER_TOKEN)
        self.plain = owner.create_volume(name='plain', metadata={'k': 'v'})
        self.attached = owner.create_volume(name='attached')
        attachment = owner.post('/v3/attachments', {'attachment': {
            'volume_uuid': self.attached['id'], 'instance_uuid': SERVER,
            'connector': CONNECTOR}}).json['attachment']
        owner.post('/v3/attachments/%s/action' % attachment['id'], {'os-complete': None})
        self.attachment_id = attachment['id']
        # A reservation is not listed in the volume's attachments.
        self.reserved = owner.create_volume(name='reserved')
        owner.post('/v3/attachments', {'attachment': {
            'volume_uuid': self.reserved['id'], 'instance_uuid': SERVER}})
        # tempest's test_volumes_actions: os-attach without a reservation.
        self.legacy = owner.create_volume(name='legacy')
        owner.post('/v3/volumes/%s/action' % self.legacy['id'], {'os-attach': {
            'instance_uuid': SERVER, 'mountpoint': '/dev/vdc'}})
        # A backend that asks hosts to always lock (NVMe-oF): null from 3.69 on.
        db_api.volume_update(context.get_admin_context(), self.plain['id'],
                             {'shared_targets': None})
        self.client = api_fixtures.Client(
            self.api.app, token=ADMIN_TOKEN if self.admin else MEMBER_TOKEN,
            version=self.version)

    def _get(self, path):
        response = self.client.get(path)
        self.assertEqual(200, response.status_int, response.text)
        return response.json

    def test_show(self):
        schema = show_volume_schema(self.version, self.admin)
        for volume in (self.plain, self.attached, self.reserved, self.legacy):
            validate(schema, self._get('/v3/volumes/%s' % volume['id']))

    def test_show_attachments(self):
        attached = self._get('/v3/volumes/%s' % self.attached['id'])['volume']
        self.assertEqual('in-use', attached['status'])
        [entry] = attached['attachments']
        self.assertEqual({'id': self.attached['id'], 'volume_id': self.attached['id'],
                          'attachment_id': self.attachment_id, 'server_id': SERVER,
                          'device': '/dev/vdb',
                          'host_name': 'compute1' if self.admin else None},
                         {k: v for k, v in entry.items() if k != 'attached_at'})
        reserved = self._get('/v3/volumes/%s' % self.reserved['id'])['volume']
        self.assertEqual(('reserved', []), (reserved['status'], reserved['attachments']))

    def test_legacy_attachment(self):
        legacy = self._get('/v3/volumes/%s' % self.legacy['id'])['volume']
        [entry] = legacy['attachments']
        self.assertEqual((self.legacy['id'], self.legacy['id'], SERVER, '/dev/vdc'),
                         (entry['id'], entry['volume_id'], entry['server_id'],
                          entry['device']))

    def test_shared_targets(self):
        plain = self._get('/v3/volumes/%s' % self.plain['id'])['volume']
        if microversion.parse(self.version) < microversion.parse('3.48'):
            self.assertNotIn('shared_targets', plain)
        elif microversion.parse(self.version) < microversion.parse('3.69'):
            self.assertIs(True, plain['shared_targets'])
        else:
            self.assertIsNone(plain['shared_targets'])

    def test_list_summary(self):
        body = self._get('/v3/volumes')
        validate(list_schema(VOLUME_SUMMARY), body)
        self.assertEqual(4, len(body['volumes']))

    def test_list_detail(self):
        body = self._get('/v3/volumes/detail')
        validate(list_schema(volume_schema(self.version, self.admin)), body)
        self.assertEqual(4, len(body['volumes']))

    def test_list_pages_carry_links(self):
        body = self._get('/v3/volumes/detail?limit=1')
        validate(list_schema(volume_schema(self.version, self.admin)), body)
        self.assertEqual('next', body['volumes_links'][0]['rel'])

    def test_create_answer(self):
        response = self.client.post('/v3/volumes', {'volume': {'size': 1}})
        self.assertEqual(202, response.status_int, response.text)
        validate(show_volume_schema(self.version, self.admin), response.json)


class VersionsAndAttachmentSchemaTest(base.DbTestCase):
    """The versions documents and the attachment bodies tempest's clients read."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        self.client = api_fixtures.Client(self.api.app, version='3.44')
        self.nova = api_fixtures.Client(self.api.app, version='3.44', service=True)

    def test_root_versions_document(self):
        response = api_fixtures.Client(self.api.app, token='', version=None).get('/')
        self.assertEqual(300, response.status_int)
        validate(VERSIONS, response.json)

    def test_v3_versions_document(self):
        response = self.client.get('/v3/')
        self.assertEqual(200, response.status_int)
        validate(VERSIONS, response.json)

    def test_attachment_show_and_delete(self):
        volume = self.client.create_volume()
        reserved = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': SERVER}}).json['attachment']
        response = self.client.get('/v3/attachments/%s' % reserved['id'])
        self.assertEqual(200, response.status_int)
        validate(SHOW_ATTACHMENT, response.json)
        self.assertEqual(('', 'null'), (response.json['attachment']['attached_at'],
                                        response.json['attachment']['attach_mode']))
        self.client.put('/v3/attachments/%s' % reserved['id'],
                        {'attachment': {'connector': CONNECTOR}})
        self.client.post('/v3/attachments/%s/action' % reserved['id'], {'os-complete': None})
        response = self.client.get('/v3/attachments/%s' % reserved['id'])
        validate(SHOW_ATTACHMENT, response.json)
        self.assertEqual('attached', response.json['attachment']['status'])
        response = self.nova.delete('/v3/attachments/%s' % reserved['id'])
        self.assertEqual(200, response.status_int)
        self.assertEqual('application/json', response.content_type)
        validate(DELETE_ATTACHMENT, response.json)
