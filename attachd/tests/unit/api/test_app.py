"""Building the WSGI application from the paste file."""

import logging

import fixtures
from keystonemiddleware import auth_token  # noqa: F401 (registers [keystone_authtoken])

from attachd.api import app
from attachd.tests import base


class MakeAppTest(base.TestCase):

    def test_keystone_pipeline_logs_no_unknown_option_warning(self):
        self.flags(auth_strategy='keystone', group='api')
        self.conf.set_override('www_authenticate_uri', 'http://127.0.0.1:5000/v3',
                               group='keystone_authtoken')
        logs = self.useFixture(fixtures.FakeLogger(name='keystonemiddleware',
                                                   level=logging.WARNING))
        app.make_app(self.conf)
        self.assertNotIn('is not known to keystonemiddleware', logs.output)
