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


PACKAGE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                       '..', '..'))
HISTORY_DOC = os.path.join(PACKAGE, '..', 'doc', 'source', 'api-ref',
                           'microversion-history.rst')


def history_document():
    with open(HISTORY_DOC) as f:
        return f.read()


def documented_versions():
    """``{feature name: version}`` of the history document's entries."""
    return {name: version for version, name in
            re.findall(r'^(3\.\d+) \(``([A-Z_]+)``\)$', history_document(), re.MULTILINE)}


def feature_lookups():
    """``{name: [module path]}`` of every ``microversion.NAME`` attachd's code uses (tests
    excluded) whose value is a version."""
    found = {}
    for directory, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != 'tests']
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(directory, name)
            with open(path) as f:
                for attr in re.findall(r'\bmicroversion\.([A-Z][A-Z_]*)\b', f.read()):
                    value = getattr(microversion, attr, None)
                    if isinstance(value, str) and re.match(r'^3\.\d+$', value):
                        found.setdefault(attr, []).append(path)
    return found


class HistoryDocumentTest(base.TestCase):
    """doc/source/api-ref/microversion-history.rst describes every version constant of
    attachd.api.microversion, by its name and version, and nothing else."""

    def test_every_feature_version_is_documented(self):
        documented = documented_versions()
        constants = {name: value for name, value in vars(microversion).items()
                     if re.match(r'^[A-Z_]+$', name) and isinstance(value, str) and
                     re.match(r'^3\.\d+$', value) and name != 'MIN_VERSION'}
        self.assertEqual(constants, documented)

    def test_the_documented_range_is_the_served_range(self):
        text = history_document()
        self.assertIn('every block-storage microversion from %s to %s'
                      % (microversion.MIN_VERSION, microversion.MAX_VERSION),
                      ' '.join(text.split()))
        documented = documented_versions()
        self.assertEqual(microversion.MIN_VERSION, documented['BASE'])
        self.assertEqual(microversion.MAX_VERSION, documented['MAX_VERSION'])
        self.assertEqual(microversion.MAX_VERSION,
                         max(documented.values(), key=microversion.parse))
        self.assertEqual([microversion.MIN_VERSION, microversion.MAX_VERSION],
                         [microversion.VERSIONS[0], microversion.VERSIONS[-1]])

    def test_every_feature_the_code_looks_up_is_documented(self):
        lookups = feature_lookups()
        # The walk finds the handlers' lookups (guards against a walk that finds nothing).
        self.assertIn('ATTACHMENTS', lookups)
        documented = documented_versions()
        # The minimum is BASE's entry (the range test checks it).
        lookups.pop('MIN_VERSION', None)
        for name, paths in lookups.items():
            self.assertEqual(getattr(microversion, name), documented.get(name),
                             '%s (used in %s)' % (name, ', '.join(sorted(set(paths)))))
