"""Idempotent creates deployed: the API under gunicorn with two workers, a manager over
RabbitMQ, PostgreSQL. Identical creates sent at once to both workers make one volume; a
retry after the API restarted replays the first answer."""

import json
import threading
import urllib.error
import urllib.request
import uuid

import sqlalchemy as sa

from attachd.db import models
from attachd.tests.functional.deploy import base as dbase
from attachd.tests.functional.deploy import test_deployed


class IdempotencyDeployedTest(test_deployed.DeployedTestCase):
    needs_tgt = False

    def start_api(self, config):
        port = dbase.free_port()
        api = self.spawn(['gunicorn', '--bind', '127.0.0.1:%d' % port, '--workers', '2',
                          '--threads', '4', 'attachd.wsgi.api:application'],
                         'gunicorn-%d' % port, env={'ATTACHD_CONFIG_FILE': config})
        endpoint = 'http://127.0.0.1:%d' % port
        dbase.wait_http(endpoint + '/', process=api)
        return api, endpoint

    def post(self, endpoint, body, key):
        req = urllib.request.Request(
            '%s/v3/%s/volumes' % (endpoint, dbase.PROJECT), data=json.dumps(body).encode(),
            method='POST', headers={'X-Auth-Token': 'user:%s' % dbase.PROJECT,
                                    'OpenStack-API-Version': dbase.MICROVERSION,
                                    'Content-Type': 'application/json',
                                    'Idempotency-Key': '"%s"' % key})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def volume_ids(self):
        volumes = models.Volume.__table__
        with self.engine.connect() as conn:
            return conn.execute(sa.select(volumes.c.id).where(
                volumes.c.project_id == dbase.PROJECT)).scalars().all()

    def test_parallel_retries_on_two_workers_and_a_restart_make_one_volume(self):
        node = 'node-%s' % uuid.uuid4().hex[:8]
        manager = self.start_manager(node, ('file',))
        config = self.write_config(self.config_text('api', backends=('file',)), 'api.conf')
        api, endpoint = self.start_api(config)
        self.wait_manager_up(node, 'file', manager)
        body = {'volume': {'size': 1, 'name': 'exactly-once'}}
        key = str(uuid.uuid4())

        results = [None] * 16
        barrier = threading.Barrier(len(results))

        def send(i):
            barrier.wait(30)
            results[i] = self.post(endpoint, body, key)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(results))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertTrue({status for status, _h, _b in results} <= {202, 409}, results)
        created = {json.loads(b)['volume']['id'] for s, _h, b in results if s == 202}
        self.assertEqual(1, len(created), results)
        self.assertEqual(list(created), self.volume_ids())

        # The API restarts: the key is in the database, the retry is a replay.
        self.assertEqual(0, self.stop(api))
        _api, endpoint = self.start_api(config)
        status, headers, raw = self.post(endpoint, body, key)
        self.assertEqual(202, status, raw)
        self.assertEqual('true', headers.get('Idempotent-Replayed'))
        self.assertEqual('volume 3.54', headers.get('OpenStack-API-Version'))
        self.assertEqual(list(created), [json.loads(raw)['volume']['id']])
        self.assertEqual(list(created), self.volume_ids())
        # Another body with the key: 422, and still one volume.
        status, _headers, raw = self.post(endpoint, {'volume': {'size': 2}}, key)
        self.assertEqual(422, status, raw)
        self.assertEqual(list(created), self.volume_ids())
