"""Runs managers: one per enabled backend, each with its driver, service row and RPC server.

:class:`ManagerService` brings one backend up in this order, so that it serves requests only
once its backend matches the database:

0. refuse to start while another manager serves the same ``<host>@<backend>``
   (:meth:`ManagerService.check_single`): two would share its queue, and the start-up
   reconciliation of one would remove the exports the other is making. With
   ``[DEFAULT] cluster`` set, managers of several hosts serve the backend together (see
   ``attachd.manager.cluster``); the check still holds per host;
1. load the connector driver (stevedore, ``attachd.connector_drivers``) and ``do_setup()``;
2. reconcile the exports (``Manager.reconcile_exports``): re-create those of attached
   volumes, remove those no live attachment owns; then finish the volumes left
   ``creating``, ``deleting`` or ``downloading`` (``Manager.recover``: their requests
   were casts, which a broker restart or the manager's death loses);
3. serve: an oslo.messaging RPC server (threading executor, topic ``attachd-manager``,
   server ``<host>@<backend>``) when ``[DEFAULT] transport_url`` is set, else the
   in-process path of ``attachd.common.rpc``;
4. register or update its row in ``services`` (binary ``attachd-manager``, host, backend,
   capabilities, versions) and heartbeat every ``[manager] report_interval`` seconds. Only
   now: the API takes a manager whose row heartbeats for one that answers, and until the
   server declared its queue the broker drops what is sent to it;
5. periodic work on its own thread: reclaiming abandoned reservations
   (``[attachments] reservation_timeout``), re-creating exports the backend lost, and
   finishing volumes whose request was lost while it ran (``[manager] recover_after``);
   and, on another thread, purging the API's expired idempotency keys
   (``[api] idempotency_purge_interval``).

Threads only, no eventlet: the heartbeat and the periodic work are oslo.service looping
calls on its threading backend, which the entry points select
(:func:`attachd.common.concurrency.use_native_threads`).
"""

import datetime
from importlib import metadata
import signal
import threading
import time

from oslo_log import log as logging
from oslo_service import loopingcall
from oslo_utils import excutils
from oslo_utils import timeutils
from stevedore import driver as stevedore_driver

from attachd import context as a_context
from attachd import drivers
from attachd import exception
from attachd import notifications
from attachd.common import rpc
from attachd.conf import backend as backend_conf
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf
from attachd.manager import cluster
from attachd.manager import manager as manager_mod
from attachd.manager import rpcapi
from attachd.objects import idempotency_key as idempotency_key_obj
from attachd.objects import service as service_obj

LOG = logging.getLogger(__name__)

DRIVER_NAMESPACE = drivers.NAMESPACE


def installed_drivers():
    """Names of the installed connector drivers (entry points, none of them imported)."""
    return sorted({ep.name for ep in metadata.entry_points(group=DRIVER_NAMESPACE)})


def driver_name(backend):
    """The connector driver ``backend`` is configured with (its group's
    ``connector_driver``, defaulting to the group name)."""
    backend_conf.register_backend_opts(CONF, backend)
    return CONF[backend].connector_driver or backend


def check_drivers(backends=None):
    """Raise :class:`attachd.exception.DriverNotFound` unless every backend of ``backends``
    (default ``[DEFAULT] enabled_backends``) names an installed driver. Commands call it
    before they create anything (database schema, state directory)."""
    installed = installed_drivers()
    for backend in backends or CONF.enabled_backends:
        name = driver_name(backend)
        if name not in installed:
            raise exception.DriverNotFound(backend=backend, name=name,
                                           installed=', '.join(installed))


def load_driver(backend):
    """The connector driver of ``backend`` (see :func:`driver_name`), instantiated with
    ``(CONF, backend)``."""
    check_drivers([backend])
    manager = stevedore_driver.DriverManager(
        DRIVER_NAMESPACE, driver_name(backend), invoke_on_load=True,
        invoke_args=(CONF, backend), on_load_failure_callback=_raise_load_failure)
    return manager.driver


def _raise_load_failure(manager, entrypoint, exc):
    raise exc


class ManagerService:
    """One backend's manager, its service row, heartbeat, server and periodic tasks."""

    def __init__(self, backend, host=None, driver=None):
        self.backend = backend
        self.host = host or CONF.host
        self.server_name = '%s@%s' % (self.host, backend)
        self._driver = driver
        self.manager = None
        self.service_row = None
        self.rpc_server = None
        self._loops = []
        self.cluster = cluster.Membership.for_backend(backend, self.server_name)
        self._last_reclaim = 0.0
        self.context = a_context.get_admin_context()

    # --- start ----------------------------------------------------------------------------

    def start(self):
        """Bring the backend up (see the module's docstring); returns once it serves.

        :raises ManagerAlreadyRunning: another manager serves this backend.
        """
        self.check_single()
        driver = self._driver or load_driver(self.backend)
        driver.do_setup()
        self.cluster.join()
        self.manager = manager_mod.Manager(self.host, self.backend, driver,
                                           notifications.get_notifier(self.host),
                                           **self.cluster.manager_kwargs())
        self.manager.reconcile_exports(self.context)
        self.manager.recover(self.context)
        # Serving first: the API takes a manager whose service row heartbeats for one that
        # answers. On a manager's first start its server queue does not exist until the
        # server declares it, and the broker drops what is sent to it before (a volume
        # create cast in that window was lost, a call timed out).
        self._serve()
        try:
            self._register(driver)
        except Exception:
            with excutils.save_and_reraise_exception():
                self.stop()
        self._start_loop(self._heartbeat, CONF.manager.report_interval)
        self._start_loop(self._periodic_tasks, self._periodic_interval())
        if CONF.api.idempotency_purge_interval:
            self._start_loop(self.purge_idempotency_keys,
                             CONF.api.idempotency_purge_interval)
        LOG.info('Manager %s serving (driver %s, %s)', self.server_name,
                 type(driver).__name__,
                 'RPC over %s' % self._transport_kind() if self.rpc_server else 'in-process')
        return self

    def check_single(self):
        """Raise ManagerAlreadyRunning while another manager heartbeats for this backend.

        A row whose heartbeat is stale (``[manager] service_down_time``) is taken over. A
        fresh one may be another live manager, or this one's previous process, killed less
        than ``service_down_time`` ago: the row is watched for two heartbeat intervals
        (``[manager] report_interval``, plus a second), and only a heartbeat counted
        meanwhile means a live manager. A restart within ``service_down_time`` of a
        crash therefore starts that much later.
        """
        row = self._service_row()
        if row is None or not row.is_up:
            return
        count = row.report_count
        LOG.info('Manager %s: its service row has a fresh heartbeat; checking for %d s '
                 'whether another manager still updates it', self.server_name,
                 2 * CONF.manager.report_interval + 1)
        time.sleep(2 * CONF.manager.report_interval + 1)
        row = self._service_row()
        if row is not None and row.report_count != count:
            raise exception.ManagerAlreadyRunning(server=self.server_name)

    def _service_row(self):
        try:
            return service_obj.Service.get_by_args(self.context, self.host, rpcapi.BINARY,
                                                   self.backend)
        except exception.ServiceNotFound:
            return None

    def _transport_kind(self):
        return (messaging_conf.transport_url(CONF) or '').split(':', 1)[0]

    def _register(self, driver):
        values = {
            'topic': rpcapi.TOPIC,
            'capabilities': dict(driver.capabilities()),
            'rpc_version': rpcapi.RPC_API_VERSION,
            'disabled': False,
            'cluster_name': self.cluster.name,
        }
        try:
            service = service_obj.Service.get_by_args(self.context, self.host, rpcapi.BINARY,
                                                      self.backend)
            for key, value in values.items():
                setattr(service, key, value)
            service.save()
            service.heartbeat()
        except exception.ServiceNotFound:
            service = service_obj.Service(self.context, host=self.host,
                                          binary=rpcapi.BINARY, backend=self.backend,
                                          **values)
            service.create()
        self.service_row = service

    def _serve(self):
        transport = rpc.get_transport()
        if transport is None:
            rpc.register_local_manager(self.server_name, self.manager)
            self.cluster.serve_local(self.manager)
            return
        messaging_conf.set_executor_threads(CONF, CONF.manager.executor_threads)
        self.rpc_server = rpc.start_server(transport, rpcapi.TOPIC, self.server_name,
                                           rpcapi.RPC_API_VERSION, self.manager)
        self.cluster.serve(transport, self.manager)

    def _start_loop(self, function, interval):
        """Call ``function`` every ``interval`` seconds, the first time after one interval.

        A call that fails is logged and the loop goes on (stop_on_exception=False): a
        periodic task that fails now may succeed next time (the database back).
        """
        loop = loopingcall.FixedIntervalLoopingCall(function)
        loop.start(interval, initial_delay=interval, stop_on_exception=False)
        self._loops.append(loop)

    # --- periodic work ---------------------------------------------------------------------

    def _heartbeat(self):
        self.service_row.heartbeat()

    @staticmethod
    def _periodic_interval():
        interval = CONF.manager.report_interval
        if CONF.attachments.reservation_timeout:
            interval = min(interval, CONF.attachments.reclaim_interval)
        return interval

    def _periodic_tasks(self):
        self.check_exports()
        if CONF.manager.recover_after:
            self.manager.recover(self.context, older_than=timeutils.utcnow(
                with_timezone=False) - datetime.timedelta(
                    seconds=CONF.manager.recover_after))
        now = time.monotonic()
        if now - self._last_reclaim >= CONF.attachments.reclaim_interval:
            self._last_reclaim = now
            self.manager.reclaim_reservations(self.context)

    def purge_idempotency_keys(self):
        """Delete the expired idempotency keys of the API's creates.

        A manager does it because it already runs periodic threads, while API workers are
        started and stopped by the WSGI server (gunicorn, uWSGI). Every manager does it:
        the delete is idempotent and cheap on the indexed expiry, so no one has to elect a
        purger or schedule a command. Expired keys are free whether purged or not.
        """
        purged = idempotency_key_obj.IdempotencyKey.purge_expired(self.context)
        if purged:
            LOG.info('Purged %d expired idempotency keys', purged)

    def check_exports(self):
        """Re-create the exports when the backend lost them (tgtd restarted)."""
        if self.manager.driver.exports_lost():
            LOG.warning('Backend %s lost its exports; re-creating them', self.server_name)
            self.manager.reconcile_exports(self.context)

    # --- stop -----------------------------------------------------------------------------

    def stop(self):
        """Stop serving and the periodic tasks; the row stays, marked down (a manager
        started next for the backend need not wait to see whether it is alive)."""
        for loop in self._loops:
            loop.stop()
        self.cluster.stop_serving()
        if self.rpc_server is not None:
            self.rpc_server.stop()
            self.rpc_server.wait()
            self.rpc_server = None
        else:
            rpc.unregister_local_manager(self.server_name)
        for loop in self._loops:
            loop.wait()
        self._loops = []
        if self.service_row is not None:
            try:
                self.service_row.mark_down()
            except Exception:
                # The database is gone: the row goes stale on its own.
                LOG.exception('Marking manager %s down failed', self.server_name)
        self.cluster.leave()
        LOG.info('Manager %s stopped', self.server_name)


def start_all(backends=None):
    """Start a manager for each of ``backends`` (default ``[DEFAULT] enabled_backends``).

    If one fails to start, those already started are stopped and the error raised.
    """
    services = []
    try:
        for backend in backends or CONF.enabled_backends:
            services.append(ManagerService(backend).start())
    except Exception:
        for service in services:
            service.stop()
        raise
    return services


# Not oslo.service's launchers: on its threading backend ServiceLauncher and
# ProcessLauncher run every service in a child process under cotyledon, which respawns a
# child that exits. attachd-manager would become a supervisor and a worker (the pid that
# systemd and the tests signal is no longer the manager's), a ManagerAlreadyRunning would
# be restarted forever instead of ending the command with status 1, and attachd-all runs
# the API and the managers in one process. Its in-process Launcher installs no signal
# handler. attachd/tests/unit/manager/test_service.py pins the child-process part.
class StopSignals:
    """SIGTERM and SIGINT, caught from the moment this context is entered.

    Enter it before the process starts anything: a signal that arrives while the process
    starts (before its port opens or its managers serve) is then kept and acted on by
    :meth:`wait`, instead of interrupting the start with a KeyboardInterrupt traceback.
    The previous handlers are restored on exit.
    """

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        self.signals = signals
        self._received = []
        self._done = threading.Event()
        self._previous = {}

    def _handler(self, signum, frame):
        self._received.append(signum)
        self._done.set()

    def __enter__(self):
        self._previous = {signum: signal.signal(signum, self._handler)
                          for signum in self.signals}
        return self

    def __exit__(self, *exc_info):
        for signum, old in self._previous.items():
            signal.signal(signum, old)

    def wait(self):
        """Block the main thread until one of the signals arrived; returns its number."""
        # A timed wait: Python runs signal handlers only between bytecodes of the main
        # thread, which an untimed Event.wait() would never reach.
        while not self._done.wait(1):
            pass
        return self._received[0]
