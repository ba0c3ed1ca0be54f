"""Runs the gabbi YAML files of ``gabbits/`` against the in-process WSGI app.

Each file gets a fresh :class:`attachd.tests.functional.fixtures.GabbiFixture` (database,
fake-driver manager, paste-loaded app); its tests run in order, as the HTTP exchange a
client would have.
"""

import os

from gabbi import driver

from attachd.tests.functional import fixtures as api_fixtures

TESTS_DIR = 'gabbits'


def _current_app(environ, start_response):
    # gabbi asks for the app when it builds the tests, before any fixture started: hand it
    # this function, which calls the app of the file's running fixture.
    return api_fixtures.GabbiFixture.current.app(environ, start_response)


def _app_factory():
    return _current_app


def load_tests(loader, tests, pattern):
    test_dir = os.path.join(os.path.dirname(__file__), TESTS_DIR)
    return driver.build_tests(test_dir, loader, host=None, intercept=_app_factory,
                              test_loader_name=__name__, fixture_module=api_fixtures)
