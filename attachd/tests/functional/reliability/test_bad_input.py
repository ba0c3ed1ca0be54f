"""Hostile input, picked by hand, on SQLite, PostgreSQL and MySQL: huge and deep bodies,
bytes that are not UTF-8, wrong content types, ids that are not UUIDs, oversized
connectors, and SQL/shell metacharacters in every string that reaches the database.

(The gabbi file attachment-errors.yaml covers malformed JSON, an empty body, text/plain
and one oversized body; these go further.)
"""

from urllib import parse

from oslo_serialization import jsonutils
import webob

from attachd.tests import base
from attachd.tests.functional.reliability import base as rbase

# SQL quoting, comments and wildcards; shell expansion, separators, redirections,
# quotes, escapes, NUL-free control characters and non-ASCII.
NASTY = [
    "'; DROP TABLE volumes; --",
    '" OR 1=1 --',
    "%_\\%' /*",
    '$(touch /tmp/attachd-pwned) `id` ${IFS}; ls | cat && true || false > /dev/null <x',
    "a'b\"c\\d\ne\tf",
    'ünïcødé ☃ 𝄞 ‮',
]


class BadInputTest(rbase.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.admin = rbase.Client(self.app, token='admin:%s' % rbase.PROJECT_A)
        self.vol = self.volume()

    # --- bodies -------------------------------------------------------------------------

    def test_huge_body_is_413(self):
        body = b'{"attachment": {"volume_uuid": "' + b'x' * (16 * 1024 * 1024) + b'"}}'
        response = self.client.request('POST', '/attachments', raw=body)
        self.assertFault(response, 413)
        self.assertEqual([], self.live_attachments(self.vol.id))

    def test_huge_body_without_content_length_is_413(self):
        """A chunked body has no Content-Length to check up front; it is cut off while
        read."""
        chunks = iter([b'{"attachment": {"connector": {"k": "'] +
                      [b'x' * 65536] * 64 + [b'"}}}'])
        req = webob.Request.blank('/v3/attachments', method='POST',
                                  headers=dict(self.client.headers))
        req.content_type = 'application/json'
        req.headers['Transfer-Encoding'] = 'chunked'
        req.body_file = _ChunkedReader(chunks)
        req.content_length = None
        response = rbase.Response(req.get_response(self.app))
        self.assertFault(response, 413)

    def test_body_just_under_the_limit_is_read(self):
        padding = 'x' * (100 * 1024)
        response = self.client.post('/attachments', {'attachment': {
            'volume_uuid': self.vol.id, 'connector': {'host': 'h', 'pad': padding}}})
        # Read and judged on its content: over [api] max_connector_bytes (64 KiB).
        self.assertFault(response, 400, 'bytes long')

    def test_deeply_nested_json_is_400(self):
        for depth in (1000, 50000):
            raw = b'[' * depth + b']' * depth
            response = self.client.request('POST', '/attachments', raw=raw)
            self.assertFault(response, 400)
            raw = b'{"attachment": {"volume_uuid": "%s", "connector": ' % (
                self.vol.id.encode()) + b'{"a": ' * depth + b'1' + b'}' * depth + b'}}'
            response = self.client.request('POST', '/attachments', raw=raw)
            self.assertIn(response.status, (400, 413), response)
            self.assertFault(response, response.status)
        self.assertEqual([], self.live_attachments(self.vol.id))

    def test_not_utf8_is_400(self):
        for raw in (b'\xff\xfe{"attachment": {}}', b'{"attachment": {"volume_uuid": "\xc3"}}',
                    '{"a": 1}'.encode('utf-16'), b'\x00\x00\x00{'):
            response = self.client.request('POST', '/attachments', raw=raw)
            self.assertFault(response, 400)

    def test_not_utf8_in_url_and_query(self):
        for path in ('/attachments/%ff%fe', '/volumes/%c3%28', '/types/%ff'):
            response = self.client.get(path)
            self.assertIn(response.status, (400, 404), (path, response))
            self.assertFault(response, response.status)
        for query in ('?volume_id=%ff', '?sort=%ff', '?marker=%c3%28', '?limit=%ff',
                      '?%ff=1'):
            response = self.client.get('/attachments' + query)
            self.assertIn(response.status, (200, 400, 404), (query, response))
            if response.status != 200:
                self.assertFault(response, response.status)

    def test_nul_characters_are_400(self):
        """PostgreSQL cannot hold NUL in text: refused up front on every database."""
        for body in ({'volume': {'size': 1, 'name': 'a\x00b'}},
                     {'volume': {'size': 1, 'metadata': {'k\x00': 'v'}}}):
            self.assertFault(self.client.post('/volumes', body), 400, 'NUL')
        response = self.client.create(self.vol.id, rbase.instance(1),
                                      rbase.connector(1, nested=[{'x': 'y\x00'}]))
        self.assertFault(response, 400, 'NUL')
        for path in ('/attachments?volume_id=%00', '/attachments?%00=1',
                     '/volumes?name=a%00', '/types/a%00b', '/types/%00/extra_specs',
                     '/attachments?marker=%00'):
            self.assertFault(self.client.get(path), 400)
        self.assertEqual([], self.live_attachments(self.vol.id))

    def test_lone_surrogates_and_bad_utf8_are_400(self):
        """A lone UTF-16 surrogate (JSON ``"\\ud800"``) parses into a str no database
        driver can encode; invalid UTF-8 inside a string does not parse. Both are a 400
        in every string of every body, never a 500 from the database."""
        lone = '\ud800'
        type_id = self.admin.post('/types', {'volume_type': {'name': 'plain'}}).json[
            'volume_type']['id']
        attachment_id = self.client.create(self.vol.id,
                                           rbase.instance(1)).json['attachment']['id']
        requests = [
            (self.client, 'POST', '/volumes', {'volume': {'size': 1, 'name': lone}}),
            (self.client, 'POST', '/volumes', {'volume': {'size': 1,
                                                          'description': 'a' + lone}}),
            (self.client, 'POST', '/volumes', {'volume': {'size': 1,
                                                          'metadata': {'k': lone}}}),
            (self.client, 'POST', '/volumes', {'volume': {'size': 1,
                                                          'metadata': {lone: 'v'}}}),
            (self.admin, 'POST', '/types', {'volume_type': {'name': lone}}),
            (self.admin, 'POST', '/types', {'volume_type': {
                'name': 'n', 'extra_specs': {'k': lone}}}),
            (self.admin, 'POST', '/types/%s/extra_specs' % type_id,
             {'extra_specs': {lone: 'v'}}),
            (self.client, 'POST', '/attachments', {'attachment': {
                'volume_uuid': self.vol.id, 'instance_uuid': rbase.instance(2),
                'connector': rbase.connector(2, host=lone)}}),
            (self.client, 'PUT', '/attachments/%s' % attachment_id, {'attachment': {
                'connector': rbase.connector(1, nested={'deep': [lone]})}}),
            (self.client, 'POST', '/volumes/%s/action' % self.vol.id, {
                'os-initialize_connection': {'connector': rbase.connector(3,
                                                                          initiator=lone)}}),
        ]
        for client, method, path, body in requests:
            raw = jsonutils.dump_as_bytes(body)
            self.assertIn(b'\\ud800', raw)
            response = client.request(method, path, raw=raw)
            self.assertFault(response, 400, 'surrogate')
            bad_utf8 = raw.replace(b'\\ud800', b'\xed\xa0\x80')
            self.assertFault(client.request(method, path, raw=bad_utf8), 400)
        # A surrogate pair is a character like any other.
        response = self.client.post('/volumes', {'volume': {'size': 1,
                                                            'name': '\U0001d11e'}})
        self.assertEqual(202, response.status, response)
        self.assertEqual('\U0001d11e', response.json['volume']['name'])
        self.assertEqual(['\U0001d11e'], [
            v['name'] for v in self.client.get('/volumes/detail').json['volumes']
            if v['id'] != self.vol.id])
        self.assertEqual(['plain'], [t['name'] for t in self.admin.get('/types').json[
            'volume_types'] if t['name'] != '__DEFAULT__'])
        self.assertEqual({}, self.admin.get('/types/%s/extra_specs' % type_id).json[
            'extra_specs'])
        attachment = self.live_attachments(self.vol.id)
        self.assertEqual([(attachment_id, None)],
                         [(a.id, a.connector) for a in attachment])

    def test_wrong_content_type_is_415(self):
        body = jsonutils.dump_as_bytes({'attachment': {'volume_uuid': self.vol.id}})
        for content_type in ('text/plain', 'application/xml',
                             'application/x-www-form-urlencoded', 'multipart/form-data',
                             'application/jsonx', 'text/json'):
            response = self.client.request('POST', '/attachments', raw=body,
                                           content_type=content_type)
            self.assertFault(response, 415)
        self.assertEqual([], self.live_attachments(self.vol.id))
        # Cinder's vendor type is JSON too.
        response = self.client.request(
            'POST', '/attachments', raw=body,
            content_type='application/vnd.openstack.volume+json')
        self.assertEqual(200, response.status, response)

    def test_json_that_is_not_an_object(self):
        for raw in (b'null', b'[]', b'"attachment"', b'42', b'true',
                    b'{"attachment": null}', b'{"attachment": []}'):
            for method, path in (('POST', '/attachments'),
                                 ('POST', '/volumes'),
                                 ('POST', '/volumes/%s/action' % self.vol.id),
                                 ('POST', '/attachments/%s/action' % rbase.new_uuid())):
                response = self.client.request(method, path, raw=raw)
                self.assertIn(response.status, (400, 404), (method, path, raw, response))
                self.assertFault(response, response.status)

    # --- ids ------------------------------------------------------------------------------

    def test_ids_that_are_not_uuids_are_404(self):
        bad_ids = ['not-a-uuid', '1', "'; DROP TABLE volume_attachment; --",
                   '..', '%2e%2e%2f', 'x' * 10000, '%E2%98%83',
                   '00000000-0000-0000-0000-00000000000g',
                   self.vol.id + 'a', '%00']
        for bad in bad_ids:
            for method, path in (('GET', '/attachments/%s'), ('DELETE', '/attachments/%s'),
                                 ('GET', '/volumes/%s'), ('DELETE', '/volumes/%s'),
                                 ('GET', '/volumes/%s/encryption')):
                response = self.client.request(method, path % bad)
                self.assertIn(response.status, (400, 404), (method, path, bad, response))
                self.assertFault(response, response.status)
            response = self.client.update(bad, rbase.connector())
            self.assertIn(response.status, (400, 404), (bad, response))
            response = self.client.create(bad, rbase.instance(1))
            self.assertFault(response, 400)
            response = self.client.get('/attachments?marker=%s' % bad)
            self.assertIn(response.status, (400, 404), (bad, response))
        self.assertEqual('available', self.reload(self.vol.id).status)

    # --- connectors -----------------------------------------------------------------------

    def test_connector_with_10000_keys_is_a_clear_400(self):
        connector = {str(i): 0 for i in range(10000)}
        connector['host'] = 'h'
        attachment = self.client.create(self.vol.id, rbase.instance(1))
        for response in (self.client.create(self.vol.id, rbase.instance(2), connector),
                         self.client.update(attachment.json['attachment']['id'],
                                            connector)):
            self.assertFault(response, 400, '10001 keys, more than the 256 allowed')
        self.assertEqual(1, len(self.live_attachments(self.vol.id)))
        self.assertEqual('reserved', self.live_attachments(self.vol.id)[0].attach_status)

    def test_connector_with_a_1_mib_value(self):
        connector = {'host': 'h', 'initiator': 'i' * (1024 * 1024)}
        attachment_id = self.client.create(self.vol.id,
                                           rbase.instance(1)).json['attachment']['id']
        # Beyond oslo.middleware's max_request_body_size (112 KiB): never read.
        self.assertFault(self.client.update(attachment_id, connector), 413)
        # With a larger body limit, [api] max_connector_bytes refuses it, clearly.
        self.flags(group='oslo_middleware', max_request_body_size=4 * 1024 * 1024)
        response = self.client.update(attachment_id, connector)
        self.assertFault(response, 400, 'more than the 65536 allowed')
        self.assertEqual('reserved', self.live_attachments(self.vol.id)[0].attach_status)
        self.assertEqual([], self.api.driver.list_exports())

    def test_connector_keys_of_os_brick_with_a_wrong_type_are_400(self):
        """os-brick's connector keys are typed before anything reaches a driver or the
        database; unknown keys stay free."""
        wrong = [('host', ['x']), ('host', 7), ('host', ''), ('host', 'h' * 256),
                 ('initiator', ['iqn.2026-01.org.example:c']), ('ip', 1),
                 ('platform', {}), ('os_type', True), ('multipath', 'yes'),
                 ('enforce_multipath', 1), ('wwpns', '500143801'), ('wwnns', [1]),
                 ('nqn', 5), ('uuid', []), ('system uuid', 1), ('nvme_hostid', False),
                 ('nvme_native_multipath', 'true'), ('found_dsc', 1),
                 ('host_ips', ['1.2.3.4', None]), ('do_local_attach', 'no'),
                 ('mountpoint', 'm' * 256)]
        attachment_id = self.client.create(self.vol.id,
                                           rbase.instance(1)).json['attachment']['id']
        for key, value in wrong:
            connector = rbase.connector(1, **{key: value})
            for response in (
                    self.client.update(attachment_id, connector),
                    self.client.create(self.vol.id, rbase.instance(2), connector),
                    self.client.post('/volumes/%s/action' % self.vol.id, {
                        'os-initialize_connection': {'connector': connector}}),
                    self.client.post('/volumes/%s/action' % self.vol.id, {
                        'os-terminate_connection': {'connector': connector}})):
                self.assertFault(response, 400, key)
        self.assertEqual([(attachment_id, 'reserved', None)],
                         [(a.id, a.attach_status, a.connector)
                          for a in self.live_attachments(self.vol.id)])
        self.assertEqual([], self.api.driver.list_exports())
        # What os-brick collects on a host with every connector, and keys of its own.
        full = rbase.connector(
            1, wwpns=['500143801'], wwnns=['500143802'], nqn='nqn.2014-08.org:h',
            uuid='u', nvme_hostid='h', nvme_native_multipath=True, found_dsc='',
            host_ips=['127.0.0.1'], do_local_attach=False, enforce_multipath=False,
            ip=None, mountpoint='/dev/vdb', vendor_specific={'a': [1, None]},
            **{'system uuid': 's'})
        response = self.client.update(attachment_id, full)
        self.assertEqual(200, response.status, response)
        stored = self.live_attachments(self.vol.id)[0].connector
        self.assertEqual(full, {key: stored[key] for key in full})

    def test_connector_keys_may_be_null(self):
        """null is "not known", as Cinder accepts it: python-openstackclient's ``volume
        attachment create --connect`` sends null for every option not given."""
        osc = {'initiator': 'iqn.2026-01.org.example:c1', 'ip': None, 'platform': None,
               'host': None, 'os_type': None, 'multipath': None, 'mountpoint': None}
        response = self.client.create(self.vol.id, rbase.instance(1), osc)
        self.assertEqual(200, response.status, response)
        [attachment] = self.live_attachments(self.vol.id)
        self.assertEqual(('attaching', None), (attachment.attach_status,
                                               attachment.attached_host))
        self.assertEqual(osc, {key: attachment.connector[key] for key in osc})

    # --- metacharacters -------------------------------------------------------------------

    def test_metacharacters_round_trip_through_volumes(self):
        for text in NASTY:
            response = self.client.post('/volumes', {'volume': {
                'size': 1, 'name': text, 'description': text,
                'metadata': {'key': text}}})
            self.assertEqual(202, response.status, response)
            volume_id = response.json['volume']['id']
            shown = self.client.get('/volumes/%s' % volume_id).json['volume']
            self.assertEqual(text, shown['name'])
            self.assertEqual(text, shown['description'])
            self.assertEqual({'key': text}, shown['metadata'])
            listed = self.client.get('/volumes/detail?name=%s' % _quote(text))
            self.assertEqual([volume_id], [v['id'] for v in listed.json['volumes']])
        # Everything is still there: nothing was dropped or matched by a wildcard.
        self.assertEqual(len(NASTY) + 1,
                         len(self.client.get('/volumes').json['volumes']))

    def test_metacharacters_round_trip_through_connectors(self):
        volume = self.volume(multiattach=True)
        for i, text in enumerate(NASTY):
            connector = {'host': text, 'initiator': text, 'mountpoint': text,
                         'nested': {text: [text]}, text: text}
            response = self.client.create(volume.id, rbase.instance(i), connector)
            self.assertEqual(200, response.status, response)
            attachment_id = response.json['attachment']['id']
            stored = [a for a in self.live_attachments(volume.id)
                      if a.id == attachment_id][0]
            self.assertEqual(text, stored.attached_host)
            self.assertEqual(text, stored.mountpoint)
            self.assertEqual(text, stored.connector[text])
            self.assertEqual({text: [text]}, stored.connector['nested'])
            self.assertEqual(text, stored.specs['host'])
        self.assertEqual(len(NASTY), len(self.live_attachments(volume.id)))

    def test_metacharacters_round_trip_through_types(self):
        for i, text in enumerate(NASTY):
            name = '%d %s' % (i, text)
            response = self.admin.post('/types', {'volume_type': {
                'name': name, 'description': text, 'extra_specs': {'k': text}}})
            self.assertEqual(200, response.status, response)
            type_id = response.json['volume_type']['id']
            shown = self.admin.get('/types/%s' % type_id).json['volume_type']
            self.assertEqual(name, shown['name'])
            self.assertEqual(text, shown['description'])
            self.assertEqual({'k': text}, shown['extra_specs'])
        # The default type __DEFAULT__ is listed too.
        self.assertEqual(len(NASTY) + 1, len(self.admin.get('/types').json['volume_types']))

    def test_metacharacters_in_filters_and_sorts(self):
        attachment_id = self.client.create(self.vol.id,
                                           rbase.instance(1)).json['attachment']['id']
        for text in NASTY:
            response = self.client.get('/attachments?volume_id=%s' % _quote(text))
            self.assertEqual(200, response.status, response)
            self.assertEqual([], response.json['attachments'])
            response = self.client.get('/attachments?sort=%s' % _quote(text))
            self.assertFault(response, 400)
            response = self.admin.get('/attachments?all_tenants=1&project_id=%s'
                                      % _quote(text))
            self.assertEqual([], response.json['attachments'])
        self.assertEqual([attachment_id],
                         [a['id'] for a in self.client.get('/attachments').json[
                             'attachments']])


def _quote(text):
    return parse.quote(text, safe='')


class _ChunkedReader:
    """A body file that hands out chunks without announcing a length."""

    def __init__(self, chunks):
        self.buffer = b''
        self.chunks = chunks

    def read(self, size=-1):
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class BadInputMySQLTest(base.MySQLMixin, BadInputTest):
    pass


class BadInputPostgreSQLTest(base.PostgreSQLMixin, BadInputTest):
    pass
