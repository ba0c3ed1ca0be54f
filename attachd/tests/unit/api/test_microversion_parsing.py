"""The OpenStack-API-Version header: which version a request gets, and which are errors."""

import webob

from attachd.api import microversion
from attachd.tests import base
from attachd.tests.unit.api import test_listing


def version_of(header=None):
    environ = {}
    if header is not None:
        environ[microversion.ENVIRON_HEADER] = header
    return microversion.from_environ(environ)


class FromEnvironTest(base.TestCase):

    def test_no_header_is_the_minimum(self):
        self.assertEqual((3, 0), version_of())

    def test_a_volume_version(self):
        self.assertEqual((3, 27), version_of('volume 3.27'))
        self.assertEqual((3, 71), version_of('volume 3.71'))

    def test_service_type_is_case_insensitive_and_spaces_are_ignored(self):
        self.assertEqual((3, 44), version_of('VOLUME 3.44'))
        self.assertEqual((3, 44), version_of('  volume   3.44 '))

    def test_latest_is_the_maximum(self):
        self.assertEqual(microversion.parse(microversion.MAX_VERSION),
                         version_of('volume latest'))

    def test_another_services_version_is_ignored(self):
        self.assertEqual((3, 0), version_of('compute 2.90'))
        self.assertEqual((3, 50), version_of('compute 2.90, volume 3.50'))

    def test_out_of_range_is_unsupported(self):
        for header in ('volume 3.72', 'volume 2.0', 'volume 4.0', 'volume 3.100'):
            exc = self.assertRaises(microversion.UnsupportedVersion, version_of, header)
            self.assertIn('Minimum is 3.0 and maximum is 3.71', str(exc))

    def test_not_x_dot_y_is_malformed(self):
        for header in ('volume 3', 'volume 3.x', 'volume three', 'volume 3.1.2',
                       'volume 03.1', 'volume 3.01'):
            exc = self.assertRaises(microversion.MalformedVersion, version_of, header)
            self.assertIn('must be of the form X.Y', str(exc))


class FeatureTest(base.TestCase):

    def request(self, version):
        return test_listing.request(version=version)

    def test_is_supported_from_the_features_version_on(self):
        self.assertFalse(microversion.is_supported(self.request('3.26'),
                                                   microversion.ATTACHMENTS))
        self.assertTrue(microversion.is_supported(self.request('3.27'),
                                                  microversion.ATTACHMENTS))
        self.assertTrue(microversion.is_supported(self.request('3.71'),
                                                  microversion.ATTACHMENTS))

    def test_versions_compare_as_numbers_not_strings(self):
        self.assertTrue(microversion.is_supported(self.request('3.48'),
                                                  microversion.SHARED_TARGETS))
        self.assertFalse(microversion.is_supported(self.request('3.5'), '3.13'))
        self.assertFalse(microversion.is_supported(self.request('3.9'), '3.13'))

    def test_matches_a_closed_range(self):
        for version, expected in (('3.26', False), ('3.27', True), ('3.43', True),
                                  ('3.44', False)):
            self.assertEqual(expected, microversion.matches(self.request(version), '3.27',
                                                            '3.43'), version)

    def test_a_request_the_middleware_did_not_see_is_the_minimum(self):
        self.assertEqual((3, 0), microversion.of(webob.Request.blank('/')))

    def test_every_feature_constant_is_a_supported_version(self):
        for name in dir(microversion):
            value = getattr(microversion, name)
            if name.isupper() and isinstance(value, str) and value.startswith('3.'):
                self.assertIn(value, microversion.VERSIONS, name)
