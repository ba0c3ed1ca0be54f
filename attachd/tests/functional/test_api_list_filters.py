"""LIKE list filters (3.34) beyond ``gabbits/list-filters.yaml``: a ``key~`` the resource
filters allow to non-admins, and the same filters on MySQL and PostgreSQL (whose LIKE
escaping and case rules differ from SQLite's)."""

from unittest import mock

from attachd.api import listing
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

SERVER = '11111111-1111-1111-1111-111111111111'


class LikeFilterTest(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        self.member = api_fixtures.Client(self.api.app, version='3.34')
        self.admin = api_fixtures.Client(self.api.app, token='admin:aaaaaaaa', version='3.34')
        for name in ('web-1', 'web-2', 'db_1%'):
            self.member.create_volume(name=name)

    def names(self, client, query):
        response = client.get('/v3/volumes?sort=name:asc&' + query)
        self.assertEqual(200, response.status_int, response.text)
        return [v['name'] for v in response.json['volumes']]

    def test_admin_substring_match(self):
        self.assertEqual(['web-1', 'web-2'], self.names(self.admin, 'name~=eb-'))

    def test_wildcards_are_literal(self):
        self.assertEqual(['db_1%'], self.names(self.admin, 'name~=_1%25'))
        self.assertEqual([], self.names(self.admin, 'name~=w%25b'))

    def test_configured_like_filter_for_non_admins(self):
        allowed = listing.RESOURCE_FILTERS['volume'] + ['name~']
        with mock.patch.dict(listing.RESOURCE_FILTERS, {'volume': allowed}):
            self.assertEqual(['web-1', 'web-2'], self.names(self.member, 'name~=web'))
            response = self.member.get('/v3/volumes?status~=avail')
            self.assertEqual(400, response.status_int)
            # Still a 3.34 feature: an unknown filter before it.
            old = api_fixtures.Client(self.api.app, version='3.33')
            self.assertEqual(400, old.get('/v3/volumes?name~=web').status_int)
            listed = self.member.get('/v3/resource_filters?resource=volume').json
            self.assertIn('name~', listed['resource_filters'][0]['filters'])

    def test_attachment_like_filter(self):
        volume = self.member.create_volume(name='attached')
        self.member.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': SERVER}})
        response = self.admin.get('/v3/attachments?instance_id~=1111-1111')
        self.assertEqual([volume['id']],
                         [a['volume_id'] for a in response.json['attachments']])


class MySQLLikeFilterTest(base.MySQLMixin, LikeFilterTest):
    pass


class PostgreSQLLikeFilterTest(base.PostgreSQLMixin, LikeFilterTest):
    pass
