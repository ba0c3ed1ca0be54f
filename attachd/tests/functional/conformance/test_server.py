"""The conformance suite's server fixture itself: each mode serves the API from its own
processes and database."""

import sqlalchemy

from attachd.tests.functional.conformance import server
from attachd.tests.functional.deploy import base as dbase


class RunningAttachdTest(server.ServerTestCase):

    def test_volume_lands_on_the_fixture_s_own_manager(self):
        client = dbase.Client(self.endpoint)
        volume = client.create_volume()
        with self.server.engine().connect() as conn:
            host = conn.execute(sqlalchemy.text('SELECT host FROM volumes WHERE id = :id'),
                                {'id': volume['id']}).scalar()
        self.assertEqual('%s@file' % self.server.host, host)
        self.assertEqual(server.DEPLOYED == self.mode,
                         self.server.db_url.startswith('postgresql'))

    def test_server_is_shared_by_the_class(self):
        # The other test of this class may run first or not at all (filtered runs): only
        # the identity of the fixture per class and mode is checked.
        self.assertIs(self.server, type(self)._servers[self.mode])
        self.assertTrue(self.server.alive())
