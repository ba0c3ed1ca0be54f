"""Query parameters of list requests: limit/offset/marker, sort, filters and scope."""

import webob

from attachd import context
from attachd import exception
from attachd.api import listing
from attachd.api import microversion
from attachd.tests import base


def request(query='', version='3.0', admin=False, project='p1'):
    req = webob.Request.blank('/v3/p1/attachments' + (query and '?' + query))
    req.environ[microversion.ENVIRON_KEY] = microversion.parse(version)
    req.context = context.RequestContext(is_admin=admin, project_id=project)
    return req


class PaginationTest(base.TestCase):

    def test_defaults_to_max_limit_and_no_marker(self):
        self.flags(max_limit=1000, group='api')
        self.assertEqual((None, 1000, None), listing.pagination(request()))

    def test_limit_marker_offset(self):
        self.assertEqual(('m1', 5, 2),
                         listing.pagination(request('limit=5&marker=m1&offset=2')))

    def test_limit_zero_is_kept(self):
        self.assertEqual(0, listing.pagination(request('limit=0'))[1])

    def test_limit_is_capped_at_max_limit(self):
        self.flags(max_limit=10, group='api')
        self.assertEqual(10, listing.pagination(request('limit=11'))[1])

    def test_negative_or_non_integer_limit_and_offset_are_400(self):
        for query in ('limit=-1', 'limit=abc', 'limit=1.5', 'offset=-3', 'offset=x'):
            exc = self.assertRaises(exception.MalformedRequest, listing.pagination,
                                    request(query))
            self.assertEqual(400, exc.code)
            self.assertIn('must be an integer >= 0', str(exc))


KEYS = ('id', 'created_at', 'status')


class SortingTest(base.TestCase):

    def test_no_sort(self):
        self.assertEqual(([], []), listing.sorting(request(), KEYS))

    def test_sort_keys_default_to_descending(self):
        self.assertEqual((['status', 'id'], ['desc', 'asc']),
                         listing.sorting(request('sort=status,id:asc'), KEYS))

    def test_direction_is_case_insensitive(self):
        self.assertEqual((['id'], ['asc']), listing.sorting(request('sort=id:ASC'), KEYS))

    def test_deprecated_sort_key_and_dir(self):
        self.assertEqual((['id'], ['asc']),
                         listing.sorting(request('sort_key=id&sort_dir=asc'), KEYS))
        self.assertEqual((['id'], ['desc']), listing.sorting(request('sort_key=id'), KEYS))

    def test_sort_with_the_deprecated_parameters_is_400(self):
        exc = self.assertRaises(exception.MalformedRequest, listing.sorting,
                                request('sort=id&sort_dir=asc'), KEYS)
        self.assertIn('cannot be used with', str(exc))

    def test_unknown_key_is_400(self):
        exc = self.assertRaises(exception.MalformedRequest, listing.sorting,
                                request('sort=name'), KEYS)
        self.assertIn('Invalid sort key name', str(exc))
        self.assertRaises(exception.MalformedRequest, listing.sorting,
                          request('sort_key=connection_info'), KEYS)

    def test_unknown_direction_is_400(self):
        exc = self.assertRaises(exception.MalformedRequest, listing.sorting,
                                request('sort=id:up'), KEYS)
        self.assertIn('Unknown sort direction up', str(exc))


ALLOWED = ('volume_id', 'status')


class FiltersTest(base.TestCase):

    def test_allowed_filters_are_returned(self):
        self.assertEqual({'status': 'attached'},
                         listing.filters(request('status=attached&limit=2&sort=id'),
                                         ALLOWED))

    def test_unknown_filter_is_ignored_before_3_31(self):
        self.assertEqual({}, listing.filters(request('colour=red', '3.30'), ALLOWED))

    def test_unknown_filter_is_400_from_3_31(self):
        exc = self.assertRaises(exception.MalformedRequest, listing.filters,
                                request('colour=red&size=1', '3.31'), ALLOWED)
        self.assertIn('Invalid filters colour,size', str(exc))

    def test_admin_only_filters(self):
        self.assertEqual({'host': 'h'}, listing.filters(
            request('host=h', '3.31', admin=True), ALLOWED, admin_allowed=('host',)))
        self.assertRaises(exception.MalformedRequest, listing.filters,
                          request('host=h', '3.31'), ALLOWED, admin_allowed=('host',))

    def test_like_filters_from_3_34_for_admins_on_text_columns(self):
        self.assertEqual({'status~': 'att'}, listing.filters(
            request('status~=att', '3.34', admin=True), ALLOWED, admin_like=('status',)))
        self.assertRaises(exception.MalformedRequest, listing.filters,
                          request('status~=att', '3.33', admin=True), ALLOWED,
                          admin_like=('status',))
        self.assertRaises(exception.MalformedRequest, listing.filters,
                          request('status~=att', '3.34'), ALLOWED, admin_like=('status',))

    def test_non_admin_may_not_name_another_project(self):
        self.assertEqual({}, listing.filters(request('project_id=p1', '3.31'), ALLOWED))
        self.assertRaises(exception.MalformedRequest, listing.filters,
                          request('project_id=p2', '3.31'), ALLOWED)


class ScopeTest(base.TestCase):

    def test_non_admin_is_scoped_to_its_project_whatever_it_asks(self):
        self.assertEqual((True, None), listing.scope(request('all_tenants=1')))

    def test_admin_is_scoped_to_its_project_by_default(self):
        self.assertEqual((False, 'p1'), listing.scope(request(admin=True)))

    def test_admin_all_tenants_optionally_one_project(self):
        self.assertEqual((False, None), listing.scope(request('all_tenants=0', admin=True)))
        self.assertEqual((False, 'p9'), listing.scope(
            request('all_tenants=1&project_id=p9', admin=True)))
