"""Idempotent creates under concurrency and failure, on the in-process API over PostgreSQL
and MySQL: the rows say how many volumes, attachments and keys each case made."""

import datetime
import threading

from oslo_utils import timeutils
import sqlalchemy as sa

from attachd import context as a_context
from attachd import exception
from attachd.db import api as db_api
from attachd.db import idempotency as db_idempotency
from attachd.db import models
from attachd.objects import fields
from attachd.objects import idempotency_key as key_obj
from attachd.tests import base
from attachd.tests.functional.reliability import base as rbase

KeyStatus = fields.IdempotencyKeyStatus


class IdempotencyTestMixin:

    def _key_rows(self):
        keys = models.IdempotencyKey.__table__
        with self.engine.connect() as conn:
            return [row._asdict() for row in conn.execute(sa.select(keys))]

    def _volume_ids(self, project_id=rbase.PROJECT_A):
        volumes = models.Volume.__table__
        with self.engine.connect() as conn:
            return conn.execute(sa.select(volumes.c.id).where(
                volumes.c.project_id == project_id)).scalars().all()

    def _attach(self, volume_id, key, connector=True, client=None):
        body = {'attachment': {'volume_uuid': volume_id,
                               'instance_uuid': '11111111-1111-1111-1111-111111111111'}}
        if connector:
            body['attachment']['connector'] = rbase.connector()
        return (client or self.client).post('/attachments', body,
                                            headers={'Idempotency-Key': '"%s"' % key})

    def test_parallel_identical_attachment_creates_make_one_attachment(self):
        volume = self.volume()
        results = rbase.run_concurrently(
            [lambda: self._attach(volume.id, 'parallel')] * 12)
        statuses = sorted(r.status for r in results)
        self.assertTrue(set(statuses) <= {200, 409}, results)
        first = [r for r in results
                 if r.status == 200 and 'Idempotent-Replayed' not in r.headers]
        self.assertEqual(1, len(first), results)
        attachment_id = first[0].json['attachment']['id']
        for replay in (r for r in results if r.status == 200 and r is not first[0]):
            self.assertEqual(first[0].body, replay.body)
        rows = self.all_attachment_rows(volume.id)
        self.assertEqual([attachment_id], [row.id for row in rows])
        self.assertEqual('attaching', rows[0].attach_status)
        self.assertEqual([(KeyStatus.COMPLETED, 200)],
                         [(k['status'], k['response_status']) for k in self._key_rows()])
        # Once the first has answered, every retry is its replay.
        again = self._attach(volume.id, 'parallel')
        self.assertEqual((200, 'true'), (again.status, again.headers['Idempotent-Replayed']))
        self.assertEqual(first[0].body, again.body)
        self.assertConsistent(volume.id)

    def test_parallel_identical_volume_creates_make_one_volume(self):
        body = {'volume': {'size': 1, 'name': 'once'}}
        results = rbase.run_concurrently([lambda: self.client.post(
            '/volumes', body, headers={'Idempotency-Key': 'volume'})] * 12)
        self.assertTrue({r.status for r in results} <= {202, 409}, results)
        ids = {r.json['volume']['id'] for r in results if r.status == 202}
        self.assertEqual(1, len(ids), results)
        self.assertEqual(list(ids), self._volume_ids())

    def test_duplicate_while_the_first_runs_is_409_then_replays(self):
        volume = self.volume()
        connecting, proceed = threading.Event(), threading.Event()
        connect = self.api.driver.initialize_connection

        def slow_connect(*args, **kwargs):
            connecting.set()
            proceed.wait(30)
            return connect(*args, **kwargs)

        self.api.driver.initialize_connection = slow_connect
        first = []
        thread = threading.Thread(target=lambda: first.append(
            self._attach(volume.id, 'in-flight')))
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(proceed.set)
        self.assertTrue(connecting.wait(30))
        self.assertEqual([KeyStatus.IN_PROGRESS], [k['status'] for k in self._key_rows()])
        duplicate = self._attach(volume.id, 'in-flight')
        self.assertFault(duplicate, 409, 'is still in progress')
        # A different request with the key is refused as such, even in flight.
        self.assertFault(self._attach(volume.id, 'in-flight', connector=False), 422)
        proceed.set()
        thread.join(30)
        self.assertEqual(200, first[0].status, first[0])
        replay = self._attach(volume.id, 'in-flight')
        self.assertEqual(first[0].body, replay.body)
        self.assertEqual('true', replay.headers['Idempotent-Replayed'])
        self.assertEqual(1, len(self.all_attachment_rows(volume.id)))

    def test_server_error_frees_the_key(self):
        volume = self.volume()
        connect = self.api.driver.initialize_connection

        def broken_connect(*args, **kwargs):
            raise RuntimeError('backend down')

        self.api.driver.initialize_connection = broken_connect
        failed = self._attach(volume.id, 'after-error')
        self.assertGreaterEqual(failed.status, 500, failed)
        self.assertEqual([], self._key_rows())
        self.assertEqual([], [row.id for row in self.all_attachment_rows(volume.id)
                              if not row.deleted])
        self.api.driver.initialize_connection = connect
        retried = self._attach(volume.id, 'after-error')
        self.assertEqual(200, retried.status, retried)
        self.assertNotIn('Idempotent-Replayed', retried.headers)
        live = [row.id for row in self.all_attachment_rows(volume.id) if not row.deleted]
        self.assertEqual([retried.json['attachment']['id']], live)

    def test_key_of_a_request_that_died_is_free_after_its_lease(self):
        self.flags(idempotency_lease=1, group='api')
        volume = self.volume()

        def dies(*args, **kwargs):
            raise RuntimeError('the API process died here')

        # A process that dies frees nothing: neither its key nor (here) anything else.
        self.useFixture(rbase.fixtures.MockPatchObject(key_obj.IdempotencyKey, 'release'))
        self.api.driver.initialize_connection = dies
        self.assertGreaterEqual(self._attach(volume.id, 'died').status, 500)
        del self.api.driver.initialize_connection
        self.assertEqual([KeyStatus.IN_PROGRESS], [k['status'] for k in self._key_rows()])
        self.assertFault(self._attach(volume.id, 'died'), 409)
        self.assertTrue(base.wait_for(
            lambda: self._attach(volume.id, 'died').status == 200, timeout=10))
        self.assertEqual(1, len([r for r in self.all_attachment_rows(volume.id)
                                 if not r.deleted]))
        self.assertEqual([(KeyStatus.COMPLETED, 200)],
                         [(k['status'], k['response_status']) for k in self._key_rows()])

    def test_expired_key_runs_again_and_is_purged(self):
        body = {'volume': {'size': 1}}
        headers = {'Idempotency-Key': 'ttl'}
        first = self.client.post('/volumes', body, headers=headers)
        self.assertEqual(202, first.status)
        replay = self.client.post('/volumes', body, headers=headers)
        self.assertEqual(first.body, replay.body)
        [row] = self._key_rows()
        self.assertGreater(row['expires_at'], db_api.utcnow() + datetime.timedelta(
            hours=23))
        keys = models.IdempotencyKey.__table__
        with self.engine.begin() as conn:
            conn.execute(sa.update(keys).values(
                expires_at=db_api.utcnow() - datetime.timedelta(seconds=1)))
        again = self.client.post('/volumes', body, headers=headers)
        self.assertEqual(202, again.status)
        self.assertNotIn('Idempotent-Replayed', again.headers)
        self.assertNotEqual(first.json['volume']['id'], again.json['volume']['id'])
        self.assertEqual(2, len(self._volume_ids()))
        # The purge deletes expired keys only.
        other = self.client.post('/volumes', body, headers={'Idempotency-Key': 'other'})
        self.assertEqual(202, other.status)
        with self.engine.begin() as conn:
            conn.execute(sa.update(keys).where(keys.c.idempotency_key == 'ttl').values(
                expires_at=db_api.utcnow() - datetime.timedelta(seconds=1)))
        self.assertEqual(1, key_obj.IdempotencyKey.purge_expired(self.admin_ctx))
        self.assertEqual(['other'], [k['idempotency_key'] for k in self._key_rows()])

    def test_keys_are_per_project_and_user_in_the_rows(self):
        body = {'volume': {'size': 1}}
        clients = [self.client, rbase.Client(self.app, token='other:%s' % rbase.PROJECT_A),
                   rbase.Client(self.app, token='user:%s' % rbase.PROJECT_B)]
        answers = [c.post('/volumes', body, headers={'Idempotency-Key': 'shared'})
                   for c in clients]
        self.assertEqual([202] * 3, [a.status for a in answers])
        self.assertEqual(3, len({a.json['volume']['id'] for a in answers}))
        self.assertEqual(
            sorted([(rbase.PROJECT_A, 'user'), (rbase.PROJECT_A, 'other'),
                    (rbase.PROJECT_B, 'user')]),
            sorted((k['project_id'], k['user_id']) for k in self._key_rows()))

    def test_a_replay_with_secrets_needs_the_same_service_token(self):
        volume = self.volume()
        nova = self._attach(volume.id, 'nova', client=self.nova)
        self.assertEqual(200, nova.status, nova)
        self.assertFault(self._attach(volume.id, 'nova'), 422)
        self.assertEqual(1, len(self.all_attachment_rows(volume.id)))

    def test_a_lease_never_ends_early_whatever_the_column_precision(self):
        # MySQL keeps whole seconds: a lease ending at x.9 s, stored as x s, ended early.
        self.flags(idempotency_lease=2, group='api')
        timeutils.set_time_override(datetime.datetime(2026, 1, 1, 12, 0, 0, 900000))
        self.addCleanup(timeutils.clear_time_override)
        ctx = a_context.RequestContext(user_id='user', project_id=rbase.PROJECT_A)
        key_obj.IdempotencyKey.claim(ctx, 'lease', 'f' * 64)
        timeutils.advance_time_seconds(1.5)
        self.assertRaises(exception.IdempotencyKeyInProgress,
                          key_obj.IdempotencyKey.claim, ctx, 'lease', 'f' * 64)
        timeutils.advance_time_seconds(1.5)
        self.assertFalse(key_obj.IdempotencyKey.claim(ctx, 'lease', 'f' * 64).is_completed)

    def test_claims_race_on_the_database(self):
        """The insert-first claim itself: of many claims of one key, one wins."""
        scope = {'project_id': rbase.PROJECT_A, 'user_id': 'user',
                 'idempotency_key': 'db-race'}
        lease = db_api.utcnow() + datetime.timedelta(minutes=1)
        results = rbase.run_concurrently([
            (lambda i=i: db_idempotency.idempotency_key_claim(
                self.admin_ctx, scope, 'f' * 64, 'claim-%02d' % i, lease))
            for i in range(10)])
        winners = [i for i, r in enumerate(results) if r is None]
        self.assertEqual(1, len(winners), results)
        [row] = self._key_rows()
        self.assertEqual('claim-%02d' % winners[0], row['claim_id'])
        for i, result in enumerate(results):
            if i != winners[0]:
                self.assertEqual(row['claim_id'], result['claim_id'])
        # Only the holder completes or frees it.
        self.assertFalse(db_idempotency.idempotency_key_release(self.admin_ctx, scope,
                                                                'claim-xx'))
        self.assertTrue(db_idempotency.idempotency_key_complete(
            self.admin_ctx, scope, row['claim_id'],
            {'response_status': 202, 'response_headers': '{}', 'response_body': '{}',
             'expires_at': lease}))
        self.assertFalse(db_idempotency.idempotency_key_release(self.admin_ctx, scope,
                                                                row['claim_id']))


class PostgreSQLIdempotencyTest(IdempotencyTestMixin, base.PostgreSQLMixin,
                                rbase.ApiTestCase):
    pass


class MySQLIdempotencyTest(IdempotencyTestMixin, base.MySQLMixin, rbase.ApiTestCase):
    pass


class SQLiteIdempotencyTest(IdempotencyTestMixin, rbase.ApiTestCase):
    pass
