"""A manager killed (SIGKILL) under load, in the deployed mode: attachd-api and two
attachd-manager processes (one per backend) over RabbitMQ and PostgreSQL.

The dead manager may hold only ``[api] manager_calls_per_backend`` of the API's threads;
requests that need only the database, and those for the other backend, keep their
latency; once its heartbeat is stale, requests for it are 503 at once; nothing is left
half-done in the database.
"""

import re
import signal
import threading
import time
import uuid

from attachd import context
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests.functional.deploy import base as dbase
from attachd.tests.functional.deploy import test_deployed

CONNECTOR = test_deployed.CONNECTOR
THREADS = 16
CALLS_PER_BACKEND = 8
DEAD_UPDATES = 24
RPC_TIMEOUT = 12
SERVICE_DOWN_TIME = 5
# What the other requests may take while the dead manager holds its share, and what a
# refusal may take: tens of milliseconds when all is well. The bounds leave room for a
# loaded 2-core machine (CI runs two test workers) and stay far below RPC_TIMEOUT, which
# is what a request caught behind the dead manager would wait.
KEEPS_LATENCY = 4.0
FAST_503 = 3.0
HOST_PORT = re.compile(r'\d+\.\d+\.\d+\.\d+:\d+|localhost:\d+|:5672')


class DeadManagerTest(test_deployed.DeployedTestCase):
    needs_tgt = False

    def api_config(self):
        # attachd-api's defaults but one worker (the share is per process), and timings
        # that keep the test short: the ratios are the defaults' (report_interval 5,
        # service_down_time 20, rpc_response_timeout_api 30).
        text = self.config_text('api', backends=('fake',))
        text = text.replace('rpc_response_timeout_api = 5',
                            'rpc_response_timeout_api = %d' % RPC_TIMEOUT)
        text = text.replace('service_down_time = 10',
                            'service_down_time = %d' % SERVICE_DOWN_TIME)
        self.port = dbase.free_port()
        text += ('[api]\nbind_port = %d\nworkers = 1\nthreads = %d\n'
                 'manager_calls_per_backend = %d\n'
                 % (self.port, THREADS, CALLS_PER_BACKEND))
        return self.write_config(text, 'api.conf')

    def timed(self, function, *args, **kwargs):
        """``(status, seconds, body)`` of one request."""
        started = time.monotonic()
        try:
            function(*args, **kwargs)
            status, body = 200, None
        except dbase.HttpError as exc:
            status, body = exc.status, exc.body
        return status, time.monotonic() - started, body

    def volume(self, node, project):
        volume = volume_obj.Volume(context.get_admin_context(), size=1, project_id=project,
                                   user_id='user', status='available',
                                   attach_status='detached', host='%s@fake' % node)
        volume.create()
        return volume

    def test_killed_manager_holds_a_bounded_share_of_the_api(self):
        node_a = 'node-a-%s' % uuid.uuid4().hex[:8]
        node_b = 'node-b-%s' % uuid.uuid4().hex[:8]
        manager_a = self.start_manager(node_a, ('fake',))
        manager_b = self.start_manager(node_b, ('fake',))
        api = self.spawn([dbase.console_script('attachd-api'), '--config-file',
                          self.api_config()], 'attachd-api')
        endpoint = 'http://127.0.0.1:%d' % self.port
        dbase.wait_http(endpoint + '/', timeout=60, process=api)
        self.wait_manager_up(node_a, 'fake', manager_a)
        self.wait_manager_up(node_b, 'fake', manager_b)
        client = dbase.Client(endpoint, timeout=60)
        nova = dbase.Client(endpoint, timeout=60)
        volumes_a = [self.volume(node_a, client.project) for _i in range(DEAD_UPDATES + 1)]
        volume_b = self.volume(node_b, client.project)
        reservations = [client.request('POST', '/attachments', {'attachment': {
            'volume_uuid': v.id, 'instance_uuid': str(uuid.uuid4())}})['attachment']['id']
            for v in volumes_a]

        manager_a.send_signal(signal.SIGKILL)
        manager_a.wait(10)
        killed_at = time.monotonic()
        dead = []

        def update(attachment_id):
            dead.append(self.timed(client.request, 'PUT', '/attachments/%s' % attachment_id,
                                   {'attachment': {'connector': CONNECTOR}}))
        callers = [threading.Thread(target=update, args=(a,), daemon=True)
                   for a in reservations[:DEAD_UPDATES]]
        for caller in callers:
            caller.start()
        # While the dead manager's heartbeat is still fresh: database-only requests and
        # attach/detach on the other backend, through the same API process.
        time.sleep(0.5)
        others = []
        while time.monotonic() < killed_at + SERVICE_DOWN_TIME - 1:
            others.append(('list',) + self.timed(client.request, 'GET', '/volumes/detail'))
            started = time.monotonic()
            attachment = client.request('POST', '/attachments', {'attachment': {
                'volume_uuid': volume_b.id, 'instance_uuid': str(uuid.uuid4()),
                'connector': CONNECTOR}})['attachment']
            others.append(('attach', 200, time.monotonic() - started, None))
            others.append(('detach',) + self.timed(nova.detach, attachment['id']))
        self.assertGreater(len(others), 5)
        for name, status, seconds, body in others:
            self.assertEqual(200, status, (name, body))
            self.assertLess(seconds, KEEPS_LATENCY, name)

        # Once the heartbeat is stale, the dead backend's requests are refused at once.
        time.sleep(max(0, killed_at + SERVICE_DOWN_TIME + 1.5 - time.monotonic()))
        status, seconds, body = self.timed(client.request, 'PUT',
                                           '/attachments/%s' % reservations[-1],
                                           {'attachment': {'connector': CONNECTOR}})
        self.assertEqual(503, status, body)
        self.assertLess(seconds, FAST_503)
        self.assertIn('not running', body['serviceUnavailable']['message'])

        for caller in callers:
            caller.join(RPC_TIMEOUT + 30)
            self.assertFalse(caller.is_alive())
        # At most the bulkhead's share waited (for the RPC timeout, 504); every other
        # update for the dead manager was refused at once.
        waited = [d for d in dead if d[0] == 504]
        refused = [d for d in dead if d[0] == 503]
        self.assertEqual(DEAD_UPDATES, len(waited) + len(refused), dead)
        self.assertLessEqual(len(waited), CALLS_PER_BACKEND, dead)
        for _status, seconds, _body in refused:
            self.assertLess(seconds, FAST_503 + 1)
        for _status, _seconds, body in waited + refused:
            self.assertIsNone(HOST_PORT.search(str(body)), body)

        # Nothing half-done: every reservation of the dead backend is still a
        # reservation, without connector or connection_info, its volume reserved.
        ctx = context.get_admin_context()
        for volume, attachment_id in zip(volumes_a, reservations, strict=True):
            attachment = attachment_obj.VolumeAttachment.get_by_id(ctx, attachment_id)
            self.assertEqual('reserved', attachment.attach_status)
            self.assertIsNone(attachment.connector)
            self.assertIsNone(attachment.connection_info)
            self.assertEqual('reserved', volume_obj.Volume.get_by_id(
                ctx, volume.id, project_only=False).status)
        self.assertEqual('available', volume_obj.Volume.get_by_id(
            ctx, volume_b.id, project_only=False).status)
