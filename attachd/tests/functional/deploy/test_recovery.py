"""Requests that answered 202 are never lost, and one manager per backend, as processes:
gunicorn and attachd-manager over RabbitMQ and PostgreSQL (file backend).

The broker restart uses a RabbitMQ node of the test's own
(``reliability.services.PrivateRabbitMQ``): the machine's broker serves the other tests.
"""

import os
import signal
import uuid

from attachd import context
from attachd import exception
from attachd.db import api as db_api
from attachd.db import models
from attachd.manager import rpcapi
from attachd.objects import service as service_obj
from attachd.tests import base
from attachd.tests.functional.deploy import base as dbase
from attachd.tests.functional.reliability import services


class ProcessesTestCase(dbase.ProcessMixin, base.PostgreSQLMixin, base.DbTestCase):
    """attachd's processes on the test's PostgreSQL database and ``transport_url``."""

    transport_url = base.RABBIT_URL

    def setUp(self):
        super().setUp()
        self.db_url = self.engine.url.render_as_string(hide_password=False)
        self.ctx = context.get_admin_context()

    def config(self, name, host):
        return self.write_config(
            '[DEFAULT]\n'
            'transport_url = %(rabbit)s\n'
            'state_path = %(state)s\n'
            'enabled_backends = file\n'
            'rpc_response_timeout_api = 5\n'
            'host = %(host)s\n'
            '[database]\n'
            'connection = %(db)s\n'
            '[manager]\n'
            'report_interval = 1\n'
            # The default: the API takes the killed manager for alive for a minute.
            'service_down_time = 60\n'
            % {'rabbit': self.transport_url, 'db': self.db_url, 'host': host,
               # One state directory per host: a restarted manager finds its files.
               'state': os.path.join(self.workdir, 'state-%s' % host)},
            '%s.conf' % name)

    def start_manager(self, host, name):
        return self.spawn([dbase.console_script('attachd-manager'), '--config-file',
                           self.config(name, host)], name)

    def start_api(self, host):
        port = dbase.free_port()
        api = self.spawn([dbase.console_script('gunicorn'), '--bind',
                          '127.0.0.1:%d' % port, '--workers', '1', '--threads', '4',
                          'attachd.wsgi.api:application'], 'gunicorn',
                         env={'ATTACHD_CONFIG_FILE': self.config('api', host)})
        endpoint = 'http://127.0.0.1:%d' % port
        dbase.wait_http(endpoint + '/', process=api)
        return dbase.Client(endpoint)

    def report_count(self, host):
        try:
            return service_obj.Service.get_by_args(self.ctx, host, rpcapi.BINARY,
                                                   'file').report_count
        except exception.ServiceNotFound:
            return None

    def wait_manager_up(self, host, process, timeout=60):
        """Until the manager heartbeats (twice since now: it serves)."""
        first = self.report_count(host) or 0

        def beating():
            if process.poll() is not None:
                self.fail('manager %s exited with %s' % (host, process.returncode))
            return (self.report_count(host) or 0) >= first + 2
        self.assertTrue(base.wait_for(beating, timeout=timeout), host)

    def volume_row(self, volume_id):
        """The volume's row, soft-deleted or not."""
        with db_api.main_context_manager.reader.using(self.ctx) as session:
            return session.get(models.Volume, volume_id)


class LostCastsTest(ProcessesTestCase):
    """The broker restarts while the manager is dead: the create and the delete that
    answered 202 meanwhile are in no queue. The restarted manager finishes both."""

    def setUp(self):
        base.need_service(self, 'rabbitmq-server (as root)', services.rabbitmq_usable())
        self.rabbit = self.useFixture(services.PrivateRabbitMQ())
        self.transport_url = self.rabbit.url
        super().setUp()

    def test_volumes_left_creating_and_deleting_are_finished_at_start(self):
        host = 'node-r-%s' % uuid.uuid4().hex[:8]
        manager = self.start_manager(host, 'manager')
        client = self.start_api(host)
        self.wait_manager_up(host, manager)
        doomed = client.create_volume()
        queue = '%s.%s@file' % (rpcapi.TOPIC, host)
        self.assertIn(queue, self.rabbit.queues())

        manager.send_signal(signal.SIGKILL)
        self.assertEqual(-signal.SIGKILL, manager.wait(10))
        self.rabbit.restart()
        self.assertNotIn(queue, self.rabbit.queues())
        created = client.request('POST', '/volumes', {'volume': {'size': 1}},
                                 expect=(202,))['volume']
        client.request('DELETE', '/volumes/%s' % doomed['id'], expect=(202,))
        # Nothing listens: the broker dropped both casts (no queue holds them).
        self.assertNotIn(queue, self.rabbit.queues())
        self.assertEqual('creating', self.volume_row(created['id']).status)
        self.assertEqual('deleting', self.volume_row(doomed['id']).status)

        manager = self.start_manager(host, 'restarted')
        self.wait_manager_up(host, manager)
        row = self.volume_row(created['id'])
        self.assertEqual(('available', False), (row.status, row.deleted))
        self.assertTrue(os.path.exists(row.provider_location))
        row = self.volume_row(doomed['id'])
        self.assertEqual(('deleted', True), (row.status, row.deleted))
        self.assertFalse(os.path.exists(row.provider_location))
        # The owner's next delete works.
        client.request('DELETE', '/volumes/%s' % created['id'], expect=(202,))
        self.assertTrue(base.wait_for(
            lambda: self.volume_row(created['id']).deleted, timeout=15))
        self.assertEqual(0, self.stop(manager))


class SingleManagerTest(ProcessesTestCase):
    """A second attachd-manager for a host@backend whose manager is alive refuses to
    start; once that one is dead, the next one takes its row over."""

    def setUp(self):
        base.need_rabbit(self)
        super().setUp()

    def test_second_manager_refuses_while_the_first_heartbeats(self):
        host = 'node-s-%s' % uuid.uuid4().hex[:8]
        first = self.start_manager(host, 'first')
        self.wait_manager_up(host, first)
        second = self.start_manager(host, 'second')
        self.assertEqual(1, second.wait(60))
        with open(os.path.join(self.workdir, 'second.log')) as f:
            errors = [line for line in f if ' ERROR ' in line or 'Traceback' in line]
        self.assertEqual(1, len(errors), errors)
        self.assertIn('Another attachd-manager is serving %s@file' % host, errors[0])
        # The first one still serves, alone.
        self.wait_manager_up(host, first)
        client = self.start_api(host)
        volume = client.create_volume()
        self.assertEqual('%s@file' % host, self.volume_row(volume['id']).host)

        # Killed: its row is fresh for service_down_time, but no longer beats.
        first.send_signal(signal.SIGKILL)
        self.assertEqual(-signal.SIGKILL, first.wait(10))
        self.assertTrue(service_obj.Service.get_by_args(self.ctx, host, rpcapi.BINARY,
                                                        'file').is_up)
        third = self.start_manager(host, 'third')
        self.wait_manager_up(host, third)
        client.request('DELETE', '/volumes/%s' % volume['id'], expect=(202,))
        self.assertTrue(base.wait_for(
            lambda: self.volume_row(volume['id']).deleted, timeout=15))
        # Stopped cleanly: marked down at once, and the next one starts without waiting.
        self.assertEqual(0, self.stop(third))
        self.assertFalse(service_obj.Service.get_by_args(self.ctx, host, rpcapi.BINARY,
                                                         'file').is_up)
