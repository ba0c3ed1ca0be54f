"""attachd-api's gunicorn worker (waitress inside gunicorn)."""

import threading

import fixtures
from waitress import task

from attachd.common import http_worker
from attachd.tests import base


class _Task:
    def __init__(self):
        self.done = threading.Event()

    def service(self):
        self.done.set()


class WaitUntilIdleTest(base.TestCase):

    def test_a_first_request_to_new_threads_is_not_reported_as_queued(self):
        # waitress counts its new threads busy until they first wait for a task; a task
        # added before then was logged "Task queue depth is 1" by every fresh worker.
        log = self.useFixture(fixtures.FakeLogger(name='waitress.queue'))
        dispatcher = task.ThreadedTaskDispatcher()
        dispatcher.set_thread_count(8)
        self.addCleanup(dispatcher.shutdown, timeout=1)
        http_worker._wait_until_idle(dispatcher)
        self.assertEqual(0, dispatcher.active_count)
        request = _Task()
        dispatcher.add_task(request)
        self.assertTrue(request.done.wait(5))
        self.assertEqual('', log.output)
