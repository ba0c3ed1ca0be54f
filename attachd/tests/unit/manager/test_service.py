"""The oslo.service behaviour attachd.manager.service builds on, or declines."""

import threading

import cotyledon
from oslo_service import loopingcall
from oslo_service import service as oslo_service

from attachd.tests import base


class OsloServiceTest(base.TestCase):

    def test_launched_services_run_in_cotyledon_child_processes(self):
        # Why attachd-manager keeps its own StopSignals (see the comment on it): if
        # oslo.service gains an in-process launcher with signal handling, this fails.
        self.assertTrue(issubclass(oslo_service.ServiceWrapper, cotyledon.Service))

    def test_looping_call_keeps_going_after_a_failure_and_stops_at_once(self):
        calls = []
        called_twice = threading.Event()

        def task():
            calls.append(1)
            if len(calls) == 2:
                called_twice.set()
            raise RuntimeError('database down')

        loop = loopingcall.FixedIntervalLoopingCall(task)
        loop.start(0.01, initial_delay=0.01, stop_on_exception=False)
        self.assertTrue(called_twice.wait(5))
        loop.stop()
        loop.wait()
        count = len(calls)
        called_twice.wait(0.05)
        self.assertEqual(count, len(calls))
