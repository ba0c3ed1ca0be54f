"""How CI judges a tempest run: only failures not listed as expected fail it."""

import os

import fixtures

from attachd.tests import base
from attachd.tests.functional import run_tempest


class VerdictTest(base.TestCase):
    FOUND = [('t.Unimplemented.test_a', 'fail', '404'),
             ('t.Volumes.test_b', 'fail', 'schema'),
             ('t.Fixed.test_c', 'success', ''),
             ('t.Volumes.test_d', 'success', ''),
             ('t.Skipped.test_e', 'skip', 'no glance')]

    def test_only_unlisted_failures_are_unexpected(self):
        unexpected, fixed = run_tempest.verdict(
            self.FOUND, {'t.Unimplemented.test_a', 't.Fixed.test_c', 't.Gone.test_f'})
        self.assertEqual(['t.Volumes.test_b'], unexpected)
        self.assertEqual(['t.Fixed.test_c'], fixed)

    def test_expected_failures_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'list')
        with open(path, 'w') as f:
            f.write('# a comment\n\nt.Unimplemented.test_a  # 404\nt.Fixed.test_c\n')
        self.assertEqual({'t.Unimplemented.test_a', 't.Fixed.test_c'},
                         run_tempest.read_expected_failures(path))

    def test_the_shipped_list_names_tests(self):
        names = run_tempest.read_expected_failures(os.path.join(
            os.path.dirname(__file__), '..', '..', '..', 'tools',
            'tempest-expected-failures.txt'))
        self.assertTrue(names)
        for name in names:
            self.assertRegex(name, r'^(tempest|cinder_tempest_plugin)\.api\.volume\.[\w.]+$')
