"""The API reference's samples (doc/source/api-ref/samples) are real: every call the
reference documents is made, in order, on the in-process API, with the request sample as
its body, and its response must have the response sample's shape (the same keys at every
level, values of the same JSON types; null matches anything, as it stands for a value a
step may not have yet; list items are compared with the sample's item at the same place
when the lengths agree, else with its first).

``ATTACHD_WRITE_API_SAMPLES=1`` writes the samples from the responses instead (then read
them before committing).
"""

import json
import os
import re

from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional import test_install_guide

SAMPLES = os.path.join(test_install_guide.SOURCE, 'doc', 'source', 'api-ref', 'samples')
PROJECT = '7c9d3e8a2f4b4e1d9a6b5c4d3e2f1a0b'
SERVER = '0d7e4f3c-3b1a-4c5e-9f8e-2a6b7c8d9e0f'
WRITE = os.environ.get('ATTACHD_WRITE_API_SAMPLES') == '1'

# (sample name, method, path, microversion, status, caller) in the order the calls are
# made; "{name}" in a path is an id a previous call returned. Callers: a project member,
# an admin, or the member with a service token (Nova).
CALLS = [
    ('versions-root', 'GET', '/', None, 300, 'member'),
    ('versions-v3', 'GET', '/v3/', None, 200, 'member'),
    ('type-create', 'POST', '/v3/{project}/types', '3.71', 200, 'admin'),
    ('types-list', 'GET', '/v3/{project}/types', '3.71', 200, 'member'),
    ('type-show', 'GET', '/v3/{project}/types/{type}', '3.71', 200, 'member'),
    ('type-default-show', 'GET', '/v3/{project}/types/default', '3.71', 200, 'member'),
    ('type-extra-specs-create', 'POST', '/v3/{project}/types/{type}/extra_specs', '3.71',
     200, 'admin'),
    ('type-extra-specs-list', 'GET', '/v3/{project}/types/{type}/extra_specs', '3.71', 200,
     'admin'),
    ('type-extra-spec-show', 'GET', '/v3/{project}/types/{type}/extra_specs/tier', '3.71',
     200, 'admin'),
    ('type-extra-spec-update', 'PUT', '/v3/{project}/types/{type}/extra_specs/tier',
     '3.71', 200, 'admin'),
    ('type-extra-spec-delete', 'DELETE', '/v3/{project}/types/{type}/extra_specs/tier',
     '3.71', 202, 'admin'),
    ('volume-create', 'POST', '/v3/{project}/volumes', '3.71', 202, 'member'),
    ('volumes-list', 'GET', '/v3/{project}/volumes', '3.71', 200, 'member'),
    ('volumes-list-detail', 'GET', '/v3/{project}/volumes/detail', '3.71', 200, 'member'),
    ('volume-show', 'GET', '/v3/{project}/volumes/{volume}', '3.71', 200, 'member'),
    ('volume-encryption-show', 'GET', '/v3/{project}/volumes/{volume}/encryption', '3.71',
     200, 'member'),
    ('volume-metadata-create', 'POST', '/v3/{project}/volumes/{volume}/metadata', '3.71',
     200, 'member'),
    ('volume-metadata-list', 'GET', '/v3/{project}/volumes/{volume}/metadata', '3.71',
     200, 'member'),
    ('volume-metadata-replace', 'PUT', '/v3/{project}/volumes/{volume}/metadata', '3.71',
     200, 'member'),
    ('volume-metadata-show', 'GET', '/v3/{project}/volumes/{volume}/metadata/purpose',
     '3.71', 200, 'member'),
    ('volume-metadata-update', 'PUT', '/v3/{project}/volumes/{volume}/metadata/purpose',
     '3.71', 200, 'member'),
    ('volume-metadata-delete', 'DELETE', '/v3/{project}/volumes/{volume}/metadata/purpose',
     '3.71', 200, 'member'),
    ('limits-show', 'GET', '/v3/{project}/limits', '3.71', 200, 'member'),
    ('extensions-list', 'GET', '/v3/{project}/extensions', '3.71', 200, 'member'),
    ('attachment-create', 'POST', '/v3/{project}/attachments', '3.71', 200, 'member'),
    ('attachment-complete', 'POST', '/v3/{project}/attachments/{attachment}/action', '3.71',
     204, 'member'),
    ('attachments-list', 'GET', '/v3/{project}/attachments', '3.71', 200, 'member'),
    ('attachments-list-detail', 'GET', '/v3/{project}/attachments/detail', '3.71', 200,
     'member'),
    ('attachment-show', 'GET', '/v3/{project}/attachments/{attachment}', '3.71', 200,
     'member'),
    ('fence-create', 'POST', '/v3/{project}/fences', '3.71', 200, 'admin'),
    ('fences-list', 'GET', '/v3/{project}/fences', '3.71', 200, 'admin'),
    ('fence-delete', 'DELETE', '/v3/{project}/fences/{host}', '3.71', 204, 'admin'),
    ('attachment-delete', 'DELETE', '/v3/{project}/attachments/{attachment}', '3.71', 200,
     'service'),
    ('attachment-reserve', 'POST', '/v3/{project}/attachments', '3.71', 200, 'member'),
    ('attachment-update', 'PUT', '/v3/{project}/attachments/{attachment}', '3.71', 200,
     'member'),
    ('attachment-delete', 'DELETE', '/v3/{project}/attachments/{attachment}', '3.71', 200,
     'service'),
    ('resource-filters-list', 'GET', '/v3/{project}/resource_filters', '3.71', 200,
     'member'),
    ('volume-action-reserve', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0', 202,
     'member'),
    ('volume-action-unreserve', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0', 202,
     'member'),
    ('volume-action-reserve', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0', 202,
     'member'),
    ('volume-action-initialize-connection', 'POST', '/v3/{project}/volumes/{volume}/action',
     '3.0', 200, 'member'),
    ('volume-action-attach', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0', 202,
     'member'),
    ('volume-action-begin-detaching', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0',
     202, 'member'),
    ('volume-action-roll-detaching', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0',
     202, 'member'),
    ('volume-action-update-readonly-flag', 'POST',
     '/v3/{project}/volumes/{volume}/action', '3.0', 202, 'member'),
    ('volume-action-terminate-connection', 'POST', '/v3/{project}/volumes/{volume}/action',
     '3.0', 202, 'service'),
    ('volume-action-detach', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0', 202,
     'member'),
    ('volume-action-reset-status', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0',
     202, 'admin'),
    ('volume-action-force-detach', 'POST', '/v3/{project}/volumes/{volume}/action', '3.0',
     202, 'admin'),
    ('volume-action-reimage', 'POST', '/v3/{project}/volumes/{volume}/action', '3.68', 202,
     'member'),
    ('volume-delete', 'DELETE', '/v3/{project}/volumes/{volume}', '3.71', 202, 'member'),
    ('type-delete', 'DELETE', '/v3/{project}/types/{type}', '3.71', 202, 'admin'),
]

# Ids a response introduces: {name in paths: (sample, JSON path to the id)}.
IDS = {'type': ('type-create', ('volume_type', 'id')),
       'volume': ('volume-create', ('volume', 'id')),
       'attachment': (('attachment-create', 'attachment-reserve'), ('attachment', 'id')),
       'host': ('fence-create', ('fence', 'host'))}


def sample_path(name, kind):
    return os.path.join(SAMPLES, '%s-%s.json' % (name, kind))


def load(name, kind):
    path = sample_path(name, kind)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def shape_errors(sample, actual, where='$'):
    """Where ``actual`` does not have ``sample``'s shape (a list of messages)."""
    if sample is None or actual is None:
        return []
    if isinstance(sample, dict):
        if not isinstance(actual, dict):
            return ['%s: object expected, got %r' % (where, actual)]
        errors = []
        if set(sample) != set(actual):
            errors.append('%s: keys %s in the sample only, %s in the response only' % (
                where, sorted(set(sample) - set(actual)), sorted(set(actual) - set(sample))))
        for key in set(sample) & set(actual):
            errors.extend(shape_errors(sample[key], actual[key], '%s.%s' % (where, key)))
        return errors
    if isinstance(sample, list):
        if not isinstance(actual, list):
            return ['%s: array expected, got %r' % (where, actual)]
        if bool(sample) != bool(actual):
            return ['%s: %d items in the sample, %d in the response' % (
                where, len(sample), len(actual))]
        # Item by item when the lengths agree (a list of different links), else every item
        # against the sample's first.
        pairs = zip(sample, actual, strict=True) if len(sample) == len(actual) else \
            ((sample[0], item) for item in actual)
        return [error for expected, item in pairs
                for error in shape_errors(expected, item, where)]
    kinds = (bool, (int, float), str)
    for kind in kinds:
        if isinstance(sample, kind):
            if isinstance(actual, kind) and not (kind is not bool and
                                                 isinstance(actual, bool)):
                return []
            return ['%s: %s expected, got %r' % (where, type(sample).__name__, actual)]
    return ['%s: unexpected sample value %r' % (where, sample)]


class ApiRefSamplesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture())
        self.callers = {
            'member': api_fixtures.Client(self.api.app, token='demo:%s' % PROJECT),
            'admin': api_fixtures.Client(self.api.app, token='admin:%s' % PROJECT),
            'service': api_fixtures.Client(self.api.app, token='demo:%s' % PROJECT,
                                           service=True),
        }

    def _path(self, template, ids):
        return re.sub(r'\{(\w+)\}', lambda m: ids[m.group(1)], template)

    def _remember_ids(self, name, body, ids):
        for key, (samples, json_path) in IDS.items():
            if name in (samples if isinstance(samples, tuple) else (samples,)):
                value = body
                for part in json_path:
                    value = value[part]
                ids[key] = value

    def _wait_for_volume(self, ids):
        client = self.callers['member']
        return base.wait_for(lambda: client.volume_status(ids['volume']) == 'available')

    def _wait_for_volume_gone(self, ids):
        client = self.callers['member']
        return base.wait_for(lambda: client.get(
            '/v3/volumes/%s' % ids['volume']).status_int == 404)

    def test_samples_match_the_responses(self):
        ids = {'project': PROJECT}
        problems = []
        for name, method, template, version, status, caller in CALLS:
            client = self.callers[caller]
            client.version = version
            request = load(name, 'request')
            if request is not None:
                request = json.loads(json.dumps(request).replace(
                    '"{volume}"', json.dumps(ids.get('volume', ''))))
            response = client.request(method, self._path(template, ids), request)
            self.assertEqual(status, response.status_int,
                             '%s: %s' % (name, response.text))
            body = response.json if response.body else None
            if body is not None:
                self._remember_ids(name, body, ids)
                if WRITE:
                    with open(sample_path(name, 'response'), 'w') as f:
                        json.dump(body, f, indent=4, sort_keys=True)
                        f.write('\n')
                else:
                    sample = load(name, 'response')
                    if sample is None:
                        problems.append('%s: no response sample' % name)
                    else:
                        problems.extend('%s: %s' % (name, error)
                                        for error in shape_errors(sample, body))
            elif load(name, 'response') is not None:
                problems.append('%s: a response sample, but no response body' % name)
            if name in ('volume-create', 'volume-action-reset-status',
                        'volume-action-reimage'):
                self._wait_for_volume(ids)
            elif name == 'volume-delete':
                # The manager deletes it: the type is in use until then (400).
                self._wait_for_volume_gone(ids)
        self.assertEqual([], problems)

    def test_every_route_is_called(self):
        from attachd.api import router
        called = set()
        for _name, method, template, _version, _status, _caller in CALLS:
            path = template.replace('/v3/{project}', '/v3')
            path = re.sub(r'\{\w+\}', '{id}', path)
            called.add((method, path.replace('/tier', '/{id}').replace('/purpose', '/{id}')))
        for path, methods in router.ROUTE_DECLARATIONS:
            if path in ('/', '/openapi.json'):
                continue  # the v3 versions document; the OpenAPI document (its own test)
            for method in methods:
                route = re.sub(r'\{\w+\}', '{id}', '/v3' + path)
                self.assertIn((method, route), called)

    def test_shape_comparison_finds_differences(self):
        self.assertEqual([], shape_errors({'a': [{'b': 1}], 'c': None},
                                          {'a': [{'b': 2}, {'b': 3}], 'c': 'x'}))
        self.assertEqual(1, len(shape_errors({'a': 1}, {'a': 1, 'b': 2})))
        self.assertEqual(1, len(shape_errors({'a': 'x'}, {'a': 1})))
        self.assertEqual(1, len(shape_errors({'a': 1}, {'a': True})))
        self.assertEqual(1, len(shape_errors({'a': [{'b': 1}]}, {'a': [{'c': 1}]})))
