"""Microversions: the 404 of a method outside the request's microversion names the
versions that have it; the history document lists every feature version."""

import os
import re

import webob

from attachd.api import microversion
from attachd.tests import base


def request(version):
    req = webob.Request.blank('/v3/attachments')
    req.environ[microversion.ENVIRON_KEY] = microversion.parse(version)
    return req


class NotFoundTest(base.TestCase):

    def test_below_the_minimum_names_it_and_the_header(self):
        exc = microversion.not_found(request('3.0'), microversion.ATTACHMENTS)
        self.assertEqual(404, exc.code)
        self.assertTrue(str(exc).startswith('The resource could not be found. '))
        self.assertIn('needs microversion 3.27 or later; this request asked for 3.0',
                      str(exc))
        self.assertIn('"OpenStack-API-Version: volume 3.27"', str(exc))

    def test_above_the_maximum_names_it(self):
        exc = microversion.not_found(request('3.50'), '3.27', '3.43')
        self.assertIn('exists up to microversion 3.43; this request asked for 3.50',
                      str(exc))

    def test_the_decorator_raises_it(self):
        handler = microversion.version_range('3.27')(lambda req: 'served')
        self.assertEqual('served', handler(request('3.27')))
        exc = self.assertRaises(type(microversion.not_found(request('3.0'), '3.27')),
                                handler, request('3.26'))
        self.assertIn('asked for 3.26', str(exc))


class HistoryDocumentTest(base.TestCase):
    """doc/source/api-ref/microversion-history.rst describes every version constant of
    attachd.api.microversion, by its name and version, and nothing else."""

    def test_every_feature_version_is_documented(self):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                            '..', 'doc', 'source', 'api-ref', 'microversion-history.rst')
        with open(path) as f:
            documented = dict(
                (name, version) for version, name in
                re.findall(r'^(3\.\d+) \(``([A-Z_]+)``\)$', f.read(), re.MULTILINE))
        constants = {name: value for name, value in vars(microversion).items()
                     if re.match(r'^[A-Z_]+$', name) and isinstance(value, str) and
                     re.match(r'^3\.\d+$', value) and name != 'MIN_VERSION'}
        self.assertEqual(constants, documented)
