"""Races through the HTTP API, on SQLite, PostgreSQL and MySQL.

Every test fires its requests from threads released by one barrier into the in-process
WSGI app, then checks what the database and the backend hold: the outcome must be one a
serial order of the same requests could give, with the volume status computed from the
attachments left and no export without an owner.
"""

import fixtures

from attachd import exception
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base
from attachd.tests.functional.reliability import base as rbase

CREATES = 64
ROUNDS = 12


class HttpRaceTest(rbase.ApiTestCase):

    def test_64_creates_on_one_volume_one_wins(self):
        volume = self.volume()
        results = rbase.run_concurrently([
            (lambda i=i: self.client.create(volume.id, rbase.instance(i)))
            for i in range(CREATES)])
        statuses = sorted(r.status for r in results)
        self.assertEqual([200] + [400] * (CREATES - 1), statuses, results)
        winner = [r for r in results if r.status == 200][0]
        for response in results:
            if response.status == 400:
                self.assertFault(response, 400, rbase.RESERVE_MESSAGE)
        # No orphan row, not even a soft-deleted one: the losers never inserted.
        rows = self.all_attachment_rows(volume.id)
        self.assertEqual([winner.json['attachment']['id']], [r.id for r in rows])
        self.assertEqual('reserved', rows[0].attach_status)
        volume, _live = self.assertConsistent(volume.id)
        self.assertEqual('reserved', volume.status)

    def test_multiattach_creates_from_different_instances_all_succeed(self):
        """Cinder answers 400 to all but one while the volume is reserved/attaching;
        attachd lets every instance reserve and connect."""
        volume = self.volume(multiattach=True)
        n = 24
        results = rbase.run_concurrently([
            (lambda i=i: self.client.create(volume.id, rbase.instance(i),
                                            rbase.connector(i) if i % 2 else None))
            for i in range(n)])
        self.assertEqual([200] * n, [r.status for r in results], results)
        live = self.live_attachments(volume.id)
        self.assertEqual(n, len(live))
        self.assertEqual(sorted(['attaching'] * (n // 2) + ['reserved'] * (n // 2)),
                         sorted(a.attach_status for a in live))
        volume, _live = self.assertConsistent(volume.id)
        self.assertEqual('attaching', volume.status)

    def test_multiattach_creates_while_in_use_keep_it_in_use(self):
        volume = self.volume(multiattach=True)
        first = self.client.create(volume.id, rbase.instance(0), rbase.connector(0))
        self.assertEqual(204, self.client.complete(first.json['attachment']['id']).status)
        results = rbase.run_concurrently([
            (lambda i=i: self.client.create(volume.id, rbase.instance(i)))
            for i in range(1, 17)])
        self.assertEqual([200] * 16, [r.status for r in results], results)
        volume, live = self.assertConsistent(volume.id)
        self.assertEqual(17, len(live))
        self.assertEqual('in-use', volume.status)

    def _attachment(self, volume_id, inst=1, connect=False, complete=False):
        response = self.client.create(volume_id, rbase.instance(inst))
        self.assertEqual(200, response.status, response)
        attachment_id = response.json['attachment']['id']
        if connect:
            self.assertEqual(200, self.client.update(attachment_id,
                                                     rbase.connector(inst)).status)
        if complete:
            self.assertEqual(204, self.client.complete(attachment_id).status)
        return attachment_id

    def test_update_complete_delete_on_one_attachment(self):
        """Each round races Nova's update, complete and (service) delete of one
        attachment; every request ends in a success or a clean 404/409, and the volume
        status matches what is left."""
        for _round in range(ROUNDS):
            self._round_of_update_complete_delete_on_one_attachment()

    def test_delete_revokes_a_connection_made_while_it_ran(self):
        """The interleaving the race above finds now and then, made certain: the delete
        has read the attachment unconnected when Nova's update connects it. Deleting the
        row without revoking that connection would leave the host its access."""
        volume = self.volume()
        attachment_id = self._attachment(volume.id)
        original = attachment_obj.VolumeAttachment.shared_connections
        calls = []

        def update_lands_now(attachment, siblings=None):
            if not calls:
                calls.append(self.client.update(attachment_id, rbase.connector(1)))
            return original(attachment, siblings)

        self.useFixture(fixtures.MockPatchObject(attachment_obj.VolumeAttachment,
                                                 'shared_connections', update_lands_now))
        self.assertEqual(200, self.nova.remove(attachment_id).status)
        self.assertEqual([200], [r.status for r in calls])
        self.assertEqual([], self.live_attachments(volume.id))
        self.assertConsistent(volume.id)
        self.assertEqual([], self.api.driver.list_exports())

    def test_update_and_complete_race_on_one_attachment(self):
        for _round in range(ROUNDS):
            self._round_of_update_and_complete_race_on_one_attachment()

    def test_delete_of_the_last_attachment_racing_a_create(self):
        """Non-multiattach: the create wins only if the delete committed first; either
        way the volume status is the one of the attachments left."""
        for _round in range(ROUNDS):
            self._round_of_delete_of_the_last_attachment_racing_a_create()

    def test_delete_of_the_last_attachment_racing_a_create_on_multiattach(self):
        for _round in range(ROUNDS):
            self._round_of_delete_of_the_last_attachment_racing_a_create_on_multiattach()

    def test_volume_delete_racing_attachment_create_never_both(self):
        """Either the attachment exists and the volume delete is refused (400), or the
        delete is accepted and the create fails: 400 while the volume is ``deleting``,
        404 once the manager removed it. Never both succeed."""
        for _round in range(ROUNDS):
            self._round_of_volume_delete_racing_attachment_create_never_both()

    def _volume_exists(self, volume_id):
        try:
            self.reload(volume_id)
            return True
        except exception.VolumeNotFound:
            return False

    def _round_of_update_complete_delete_on_one_attachment(self):
        volume = self.volume()
        attachment_id = self._attachment(volume.id)
        results = rbase.run_concurrently([
            lambda: self.client.update(attachment_id, rbase.connector(1)),
            lambda: self.client.complete(attachment_id),
            lambda: self.nova.remove(attachment_id),
        ])
        update, complete, delete = results
        self.assertIn(update.status, (200, 404), update)
        self.assertIn(complete.status, (204, 404), complete)
        self.assertEqual(200, delete.status, delete)
        for response in results:
            if response.status >= 400:
                self.assertFault(response, response.status)
        self.assertEqual([], self.live_attachments(volume.id))
        volume, _live = self.assertConsistent(volume.id)
        self.assertEqual('available', volume.status)

    def _round_of_update_and_complete_race_on_one_attachment(self):
        volume = self.volume()
        attachment_id = self._attachment(volume.id)
        update, complete = rbase.run_concurrently([
            lambda: self.client.update(attachment_id, rbase.connector(1)),
            lambda: self.client.complete(attachment_id),
        ])
        self.assertEqual(200, update.status, update)
        self.assertEqual(204, complete.status, complete)
        volume, live = self.assertConsistent(volume.id)
        self.assertEqual(1, len(live))
        self.assertIn(volume.status, ('attaching', 'in-use'))

    def _round_of_delete_of_the_last_attachment_racing_a_create(self):
        volume = self.volume()
        last = self._attachment(volume.id, 1, connect=True, complete=True)
        delete, create = rbase.run_concurrently([
            lambda: self.nova.remove(last),
            lambda: self.client.create(volume.id, rbase.instance(2)),
        ])
        self.assertEqual(200, delete.status, delete)
        self.assertIn(create.status, (200, 400), create)
        if create.status == 400:
            self.assertFault(create, 400, rbase.RESERVE_MESSAGE)
        volume, live = self.assertConsistent(volume.id)
        self.assertEqual(1 if create.status == 200 else 0, len(live))
        self.assertEqual('reserved' if create.status == 200 else 'available',
                         volume.status)

    def _round_of_delete_of_the_last_attachment_racing_a_create_on_multiattach(self):
        volume = self.volume(multiattach=True)
        last = self._attachment(volume.id, 1, connect=True, complete=True)
        delete, create = rbase.run_concurrently([
            lambda: self.nova.remove(last),
            lambda: self.client.create(volume.id, rbase.instance(2),
                                       rbase.connector(2)),
        ])
        self.assertEqual(200, delete.status, delete)
        self.assertEqual(200, create.status, create)
        volume, live = self.assertConsistent(volume.id)
        self.assertEqual(1, len(live))
        self.assertEqual('attaching', volume.status)

    def _round_of_volume_delete_racing_attachment_create_never_both(self):
        volume = self.volume()
        delete, create = rbase.run_concurrently([
            lambda: self.client.delete('/volumes/%s' % volume.id),
            lambda: self.client.create(volume.id, rbase.instance(1)),
        ])
        self.assertIn(delete.status, (202, 400), delete)
        self.assertIn(create.status, (200, 400, 404), create)
        self.assertFalse(delete.status == 202 and create.status == 200,
                         (delete, create))
        self.assertFalse(delete.status >= 400 and create.status >= 400,
                         (delete, create))
        if create.status == 200:
            self.assertFault(delete, 400)
            self.assertConsistent(volume.id)
            self.assertEqual('reserved', self.reload(volume.id).status)
        else:
            self.assertFault(create, create.status)
            rbase.wait_for(lambda: not self._volume_exists(volume.id))
            self.assertEqual([], [r for r in self.all_attachment_rows(volume.id)
                                  if not r.deleted])
            # Now it is gone: a create is a clean 404.
            self.assertFault(self.client.create(volume.id, rbase.instance(3)), 404)


class HttpRaceMySQLTest(base.MySQLMixin, HttpRaceTest):
    pass


class HttpRacePostgreSQLTest(base.PostgreSQLMixin, HttpRaceTest):
    pass
