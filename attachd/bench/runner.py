"""The benchmark run: deploy attachd and the floors side by side, drive them all, report.

For each round and each concurrency, attachd, the floor and (deployed) the RPC floor are
driven one after the other for the same duration, so all see the same machine state; the
median of the rounds is reported.
"""

import datetime
import functools
import json
import os
import sys
import threading
import time
import uuid

import sqlalchemy as sa

from attachd.bench import deploy
from attachd.bench import httpclient
from attachd.bench import loadgen
from attachd.bench import stats

PROJECT_ID = 'b5e1c4a0d2f34c8e9a7b6c5d4e3f2a10'
SCALE_PROJECT_ID = 'c0ffee00aa55bb66cc77dd88ee99ff00'


class Deployment:
    """attachd and the floors, started for one mode; ``stop`` tears everything down."""

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.processes = []
        self.database = None
        self.api_port = deploy.free_port()
        self.floor_port = deploy.free_port()
        self.rpc_floor_port = None
        self.db_url = None
        self.floor_db_url = None
        self.startup_s = None

    def _start(self, name, argv, env=None):
        process = deploy.Process(name, argv, self.workdir.path, env)
        self.processes.append(process)
        return process

    def _config(self, extra):
        state_path = os.path.join(self.workdir.path, 'state')
        os.makedirs(state_path, exist_ok=True)
        sections = {
            # A host of its own: manager queues are named after it on every exchange, so a
            # manager left by an interrupted run would otherwise take half the messages.
            'DEFAULT': {'state_path': state_path, 'host': 'bench-%s' % uuid.uuid4().hex[:8],
                        'enabled_backends': 'bench', 'debug': 'false'},
            'bench': {'connector_driver': self.args.driver},
            'api': {'bind_host': '127.0.0.1', 'bind_port': self.api_port,
                    'auth_strategy': 'noauth'},
        }
        for section, options in extra.items():
            sections.setdefault(section, {}).update(options)
        path = os.path.join(self.workdir.path, 'attachd.conf')
        deploy.write_config(path, sections)
        return path

    def _db_sync(self, config):
        manage = deploy.Process('db-sync', [deploy.bin_path('attachd-manage'),
                                            '--config-file', config, 'db', 'sync'],
                                self.workdir.path)
        if manage.popen.wait(120) != 0:
            raise deploy.BenchError('attachd-manage db sync failed:\n' + manage.tail())
        manage.stop()

    def _gunicorn(self, name, app, port, env):
        return self._start(name, [
            sys.executable, '-m', 'gunicorn', '--workers', str(self.args.workers),
            '--threads', str(self.args.threads), '--worker-class', self.args.worker_class,
            '--bind', '127.0.0.1:%d' % port, '--keep-alive', '75',
            '--backlog', '2048', '--log-level', 'warning', app], env)

    def start(self):
        if self.args.mode == 'deployed':
            self._start_deployed()
        else:
            self._start_embedded()
        self._start_floor()

    def _start_deployed(self):
        self.database = deploy.PostgreSQL()
        self.db_url = self.floor_db_url = self.database.url
        config = self._config({
            'DEFAULT': {'transport_url': deploy.RABBIT_URL,
                        # A private exchange: no other attachd on this broker answers.
                        'control_exchange': 'attachd_bench_%s' % uuid.uuid4().hex[:8]},
            'database': {'connection': self.db_url},
        })
        self._db_sync(config)
        for index in range(self.args.managers):
            self._start('manager-%d' % index,
                        [deploy.bin_path('attachd-manager'), '--config-file', config])
        api = self._gunicorn('api', 'attachd.wsgi.api:application', self.api_port,
                             {'ATTACHD_CONFIG_FILE': config})
        deploy.wait_http(self.api_port, '/', timeout=60, process=api)
        self._wait_managers()

    def _wait_managers(self, timeout=60):
        """Wait until every manager logged that it serves: its RPC server consumes from
        the broker then, and a cast to it is not lost."""
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if not process.name.startswith('manager'):
                continue
            while True:
                with open(process.log_path, 'rb') as f:
                    if b' serving (driver' in f.read():
                        break
                if not process.alive():
                    raise deploy.BenchError('%s exited:\n%s' % (process.name, process.tail()))
                if time.monotonic() > deadline:
                    raise deploy.BenchError('%s did not serve within %ds:\n%s'
                                            % (process.name, timeout, process.tail()))
                time.sleep(0.1)

    def _start_embedded(self):
        config = self._config({'api': {'threads': self.args.threads}})
        state_path = os.path.join(self.workdir.path, 'state')
        self.db_url = 'sqlite:///%s' % os.path.join(state_path, 'attachd.sqlite')
        self.floor_db_url = 'sqlite:///%s' % os.path.join(state_path, 'floor.sqlite')
        process = self._start('attachd-all', [deploy.bin_path('attachd-all'),
                                              '--config-file', config])
        # The first request that does real work (an authenticated list, from the database)
        # marks the end of start-up.
        self.startup_s = deploy.wait_http(
            self.api_port, '/v3/%s/attachments' % PROJECT_ID,
            deploy.api_headers(PROJECT_ID), ok=(200,), timeout=60, process=process,
            interval=0.01)
        self.startup_s = time.monotonic() - process.started

    def _start_floor(self):
        from attachd.bench import floor
        floor.Database(self.floor_db_url).create_schema()
        env = {'ATTACHD_FLOOR_DB': self.floor_db_url}
        if self.args.mode == 'deployed':
            process = self._gunicorn('floor', 'attachd.bench.floor:application',
                                     self.floor_port, env)
        else:
            process = self._start('floor', [
                sys.executable, '-m', 'attachd.bench.embedded_floor',
                '--port', str(self.floor_port), '--threads', str(self.args.threads)], env)
        deploy.wait_http(self.floor_port, '/', timeout=60, process=process)
        if self.args.mode == 'deployed':
            self._start_rpc_floor(env)

    def _start_rpc_floor(self, floor_env):
        """The floor app under the same gunicorn settings, calling a server that only
        answers, over the same broker: one call per update and per delete."""
        topic = 'attachd-rpc-floor-%s' % uuid.uuid4().hex[:8]
        server = self._start('rpc-floor-server', [
            sys.executable, '-m', 'attachd.bench.rpc_floor', '--transport-url',
            deploy.RABBIT_URL, '--topic', topic, '--server', 'bench'])
        self.rpc_floor_port = deploy.free_port()
        env = dict(floor_env, ATTACHD_FLOOR_RPC_URL=deploy.RABBIT_URL,
                   ATTACHD_FLOOR_RPC_TOPIC=topic)
        process = self._gunicorn('rpc-floor', 'attachd.bench.floor:application',
                                 self.rpc_floor_port, env)
        deploy.wait_http(self.rpc_floor_port, '/', timeout=60, process=process)
        deadline = time.monotonic() + 60
        while True:
            with open(server.log_path, 'rb') as f:
                if b'rpc floor serving' in f.read():
                    break
            if not server.alive() or time.monotonic() > deadline:
                raise deploy.BenchError('the RPC floor\'s server did not start:\n'
                                        + server.tail())
            time.sleep(0.1)

    def targets(self):
        """``(name, port)`` of everything the load generator drives."""
        result = [('attachd', self.api_port), ('floor', self.floor_port)]
        if self.rpc_floor_port is not None:
            result.append(('rpc_floor', self.rpc_floor_port))
        return result

    def attachd_pids(self):
        """Pids of the API (server and workers) and managers, for the memory figure."""
        pids = []
        for process in self.processes:
            if process.name in ('api', 'attachd-all') or process.name.startswith('manager'):
                pids.append(process.pid)
                pids.extend(deploy.children(process.pid))
        return pids

    def cpu_groups(self, name):
        """``{group: function returning pids}`` whose CPU time a run of ``name`` (attachd,
        floor or rpc_floor) uses: its own processes, and the database and broker servers it
        shares with the machine (PostgreSQL starts a process per connection: the pids are
        looked up at each sample)."""
        groups = {}
        for process in self.processes:
            if name == 'floor':
                if process.name != 'floor':
                    continue
                group = 'app'
            elif name == 'rpc_floor':
                if process.name == 'rpc-floor':
                    group = 'app'
                elif process.name == 'rpc-floor-server':
                    group = 'server'
                else:
                    continue
            elif process.name in ('api', 'attachd-all'):
                group = process.name
            elif process.name.startswith('manager'):
                group = 'managers'
            else:
                continue
            groups.setdefault(group, []).append(process.pid)
        groups = {group: functools.partial(_with_children, pids)
                  for group, pids in groups.items()}
        if self.args.mode == 'deployed':
            groups['postgres'] = functools.partial(deploy.pids_named, 'postgres')
            if name in ('attachd', 'rpc_floor'):
                groups['rabbitmq'] = functools.partial(deploy.pids_named, 'beam.smp')
        return groups

    def memory(self):
        per_process = {}
        for process in self.processes:
            if process.name not in ('api', 'attachd-all') and \
                    not process.name.startswith('manager'):
                continue
            pids = [process.pid] + deploy.children(process.pid)
            rss = pss = 0
            for pid in pids:
                r, p = deploy.memory_kib(pid)
                rss += r
                pss += p
            per_process[process.name] = {'pids': len(pids), 'rss_mb': round(rss / 1024, 1),
                                         'pss_mb': round(pss / 1024, 1)}
        return {'processes': per_process,
                'rss_mb': round(sum(p['rss_mb'] for p in per_process.values()), 1),
                'pss_mb': round(sum(p['pss_mb'] for p in per_process.values()), 1)}

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []
        if self.database is not None:
            self.database.drop()
            self.database = None


def _bulk_attachments(db_url, total, already):
    """Insert attachments of the scale project directly with SQLAlchemy core (1,000
    multiattach volumes, attachments spread over them) until it has ``total``."""
    from attachd.db import models
    engine = sa.create_engine(db_url)
    base = datetime.datetime(2025, 1, 1)
    try:
        with engine.begin() as conn:
            if already == 0:
                conn.execute(models.Volume.__table__.insert(), [
                    {'id': str(uuid.UUID(int=(7 << 64) + v)), 'project_id': SCALE_PROJECT_ID,
                     'user_id': 'bench', 'size': 1, 'status': 'in-use',
                     'attach_status': 'attached', 'multiattach': True, 'bootable': False,
                     'host': 'bench@bench', 'deleted': False, 'created_at': base}
                    for v in range(1000)])
            rows = []
            specs = []
            for n in range(already, total):
                attachment_id = str(uuid.UUID(int=(9 << 64) + n))
                rows.append({
                    'id': attachment_id,
                    'volume_id': str(uuid.UUID(int=(7 << 64) + n % 1000)),
                    'instance_uuid': str(uuid.UUID(int=(11 << 64) + n)),
                    'attached_host': 'compute-%d' % (n % 200), 'mountpoint': '/dev/vdb',
                    'attach_mode': 'rw', 'attach_status': 'attached',
                    'attach_time': base, 'connection_info': '{"driver_volume_type": "iscsi"}',
                    'deleted': False, 'created_at': base + datetime.timedelta(seconds=n)})
                # The connector, as attachd stores it: one attachment_specs row per key.
                specs.append({'attachment_id': attachment_id, 'key': 'host',
                              'value': '"compute"', 'deleted': False, 'created_at': base})
                if len(rows) == 10000:
                    conn.execute(models.VolumeAttachment.__table__.insert(), rows)
                    conn.execute(models.AttachmentSpec.__table__.insert(), specs)
                    rows = []
                    specs = []
            if rows:
                conn.execute(models.VolumeAttachment.__table__.insert(), rows)
                conn.execute(models.AttachmentSpec.__table__.insert(), specs)
            if engine.dialect.name == 'postgresql':
                conn.execute(sa.text('ANALYZE volume_attachment'))
                conn.execute(sa.text('ANALYZE attachment_specs'))
                conn.execute(sa.text('ANALYZE volumes'))
    finally:
        engine.dispose()


def _time_gets(port, path, headers, samples):
    conn = httpclient.Connection('127.0.0.1', port)
    timings = []
    count = None
    for _i in range(samples + 1):
        started = time.monotonic()
        response = conn.request('GET', path, headers)
        elapsed = time.monotonic() - started
        if response.status != 200:
            raise deploy.BenchError('GET %s answered %s: %s'
                                    % (path, response.status, response.body[:300]))
        count = len(json.loads(response.body)['attachments'])
        timings.append(elapsed)
    conn.close()
    timings = sorted(timings[1:])
    return {'median_ms': round(stats.percentile(timings, 50) * 1000, 1),
            'p95_ms': round(stats.percentile(timings, 95) * 1000, 1), 'items': count}


def list_scaling(deployment, sizes=(1000, 100000), samples=15):
    """Time a page of 1,000 attachments (summary and detail, first page and a keyset page
    deep in the list) with each number of attachments in the database."""
    headers = deploy.api_headers(SCALE_PROJECT_ID)
    base = '/v3/%s/attachments' % SCALE_PROJECT_ID
    result = {}
    already = 0
    for size in sizes:
        _bulk_attachments(deployment.db_url, size, already)
        already = size
        # Default order is created_at desc: the marker is the attachment at the middle.
        marker = str(uuid.UUID(int=(9 << 64) + size // 2))
        result[str(size)] = {
            'summary': _time_gets(deployment.api_port, base + '?limit=1000', headers,
                                  samples),
            'detail': _time_gets(deployment.api_port, base + '/detail?limit=1000', headers,
                                 samples),
            'detail_after_marker': _time_gets(
                deployment.api_port, base + '/detail?limit=1000&marker=' + marker, headers,
                samples),
        }
    small, large = result[str(sizes[0])], result[str(sizes[-1])]
    result['ratio'] = {kind: round(large[kind]['median_ms'] / small[kind]['median_ms'], 2)
                       for kind in ('summary', 'detail', 'detail_after_marker')}
    return result


def _with_children(pids):
    return [p for pid in pids for p in [pid] + deploy.children(pid)]


class CPUSampler(threading.Thread):
    """CPU time used by groups of processes during a load generator's measured window
    (it starts half a second plus the warm-up after the generator is called)."""

    def __init__(self, groups, warmup, duration):
        super().__init__(daemon=True)
        self.groups = groups
        self.start_at = time.monotonic() + 0.5 + warmup
        self.end_at = self.start_at + duration
        self.used = None
        self.start()

    def _sample(self):
        return {group: {pid: deploy.cpu_seconds(pid) for pid in pids()}
                for group, pids in self.groups.items()}

    def run(self):
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        before = self._sample()
        time.sleep(max(0.0, self.end_at - time.monotonic()))
        after = self._sample()
        # Per process: one started in the window counts from zero; one that ended in it is
        # missed (connection pools keep theirs open).
        self.used = {group: sum(max(0.0, used - before[group].get(pid, 0.0))
                                for pid, used in after[group].items())
                     for group in after}

    def per_cycle(self, cycles_per_s):
        """Milliseconds of CPU per cycle of each group (and ``total``)."""
        self.join()
        cycles = cycles_per_s * (self.end_at - self.start_at)
        if not cycles:
            return {group: 0.0 for group in list(self.used) + ['total']}
        result = {group: round(used / cycles * 1000, 2) for group, used in self.used.items()}
        result['total'] = round(sum(self.used.values()) / cycles * 1000, 2)
        return result


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def ceiling(args, out=sys.stdout):
    """The load generator's own ceiling: the floor app without a database, under the same
    gunicorn settings, driven like attachd. Prints cycles/s and the generator's CPU cost."""
    workdir = deploy.Workdir(keep=args.keep)
    port = deploy.free_port()
    process = deploy.Process('null-app', [
        sys.executable, '-m', 'gunicorn', '--workers', str(args.workers),
        '--threads', str(args.threads), '--worker-class', args.worker_class,
        '--bind', '127.0.0.1:%d' % port, '--keep-alive', '75', '--backlog', '2048',
        '--log-level', 'warning', 'attachd.bench.floor:application'],
        workdir.path, {'ATTACHD_FLOOR_DB': 'none'})
    results = {}
    try:
        deploy.wait_http(port, '/', timeout=60, process=process)
        target = loadgen.Target('127.0.0.1', port, PROJECT_ID)
        volumes = [str(uuid.uuid4()) for _c in range(max(args.concurrency))]
        for c in args.concurrency:
            summary = stats.summarize(loadgen.run(target, volumes[:c], args.duration,
                                                  args.warmup, args.client_processes))
            results[str(c)] = summary
            print('null app c=%-3d %8.1f cycles/s %8.1f req/s, client CPU %s us/request, '
                  'errors %d' % (c, summary['cycles_per_s'], summary['requests_per_s'],
                                 summary['client_cpu_us_per_request'],
                                 summary['error_count']), file=out)
            out.flush()
    finally:
        process.stop()
        workdir.cleanup()
    print(json.dumps({'mode': 'ceiling', 'workers': args.workers, 'threads': args.threads,
                      'client_processes': args.client_processes, 'results': results},
                     sort_keys=True), file=out)
    return results


def run(args, out=sys.stdout):
    """The whole benchmark for ``args.mode``; prints the table and the JSON line and
    returns the report."""
    workdir = deploy.Workdir(keep=args.keep)
    deployment = Deployment(args, workdir)
    concurrencies = args.concurrency
    report = {'mode': args.mode, 'workers': args.workers, 'threads': args.threads,
              'managers': args.managers if args.mode == 'deployed' else 0,
              'driver': args.driver, 'duration': args.duration, 'rounds': args.rounds,
              'concurrency': concurrencies}
    try:
        print('starting %s deployment in %s' % (args.mode, workdir.path), file=out)
        out.flush()
        deployment.start()
        report['startup_s'] = (round(deployment.startup_s, 3)
                               if deployment.startup_s is not None else None)
        volumes = deploy.create_volumes(deployment.api_port, PROJECT_ID, max(concurrencies))
        targets = [(name, loadgen.Target('127.0.0.1', port, PROJECT_ID),
                    volumes if name == 'attachd' else [str(uuid.uuid4()) for _v in volumes])
                   for name, port in deployment.targets()]
        names = [name for name, _target, _vols in targets]
        attachd_target = targets[0][1]
        runs = {str(c): {name: [] for name in names} for c in concurrencies}
        for round_index in range(args.rounds):
            for c in concurrencies:
                for name, target, vols in targets:
                    sampler = CPUSampler(deployment.cpu_groups(name), args.warmup,
                                         args.duration)
                    raw = loadgen.run(target, vols[:c], args.duration, args.warmup,
                                      args.client_processes)
                    summary = stats.summarize(raw)
                    summary['cpu_ms_per_cycle'] = sampler.per_cycle(summary['cycles_per_s'])
                    runs[str(c)][name].append(summary)
                    print('round %d c=%-3d %-9s %8.1f cycles/s %8.1f req/s errors %d; '
                          'CPU ms per cycle: %s'
                          % (round_index + 1, c, name, summary['cycles_per_s'],
                             summary['requests_per_s'], summary['error_count'],
                             ', '.join('%s %.2f' % item for item in
                                       summary['cpu_ms_per_cycle'].items())), file=out)
                    out.flush()
        report['memory'] = deployment.memory()
        summary = {}
        for c in concurrencies:
            entry = {name: stats.median_of_runs(runs[str(c)][name]) for name in names}
            for name in names:
                each = [r['cpu_ms_per_cycle'] for r in runs[str(c)][name]]
                entry[name]['cpu_ms_per_cycle'] = {
                    group: round(stats.percentile(sorted(r[group] for r in each), 50), 2)
                    for group in each[0]}
            # attachd against each floor: its rate, each round's rate, and each
            # operation's p99 (``ratio`` is against the bare floor, ``ratio_rpc_floor``
            # against the RPC floor).
            for floor_name, key in (('floor', 'ratio'), ('rpc_floor', 'ratio_rpc_floor')):
                if floor_name not in entry:
                    continue
                entry[key] = _ratio(entry['attachd']['cycles_per_s'],
                                    entry[floor_name]['cycles_per_s'])
                entry[key + '_each'] = [
                    _ratio(a['cycles_per_s'], f['cycles_per_s'])
                    for a, f in zip(runs[str(c)]['attachd'], runs[str(c)][floor_name],
                                    strict=True)]
                entry['p99_' + key] = {
                    op: _ratio(entry['attachd']['ops'][op]['p99'],
                               entry[floor_name]['ops'][op]['p99'])
                    for op in loadgen.OPERATIONS}
            summary[str(c)] = entry
        report['summary'] = summary
        if args.list_scaling:
            report['list_scaling'] = list_scaling(deployment)
            if args.scaled_cycle:
                c = args.scaled_cycle
                raw = loadgen.run(attachd_target, volumes[:c], args.duration, args.warmup,
                                  args.client_processes)
                report['cycle_with_100k_attachments'] = stats.summarize(raw)
        report['errors'] = sum(summary[str(c)][name]['error_count']
                               for c in concurrencies for name in names)
    finally:
        deployment.stop()
        workdir.cleanup()
    _print_report(report, out)
    return report


def _print_report(report, out):
    if report['mode'] == 'deployed':
        title = ('deployed: gunicorn %d workers x %d threads, %d attachd-manager on RabbitMQ, '
                 'PostgreSQL, %s driver; %s s per run, median of %d rounds'
                 % (report['workers'], report['threads'], report['managers'],
                    report['driver'], report['duration'], report['rounds']))
    else:
        title = ('embedded: attachd-all (%d threads), SQLite, in-process manager, %s driver; '
                 '%s s per run, median of %d rounds'
                 % (report['threads'], report['driver'], report['duration'],
                    report['rounds']))
    print('', file=out)
    print(stats.table(title, report.get('summary', {})), file=out)
    for c, entry in report.get('summary', {}).items():
        print('CPU ms per cycle at c=%s: %s' % (c, '; '.join(
            '%s %s' % (name, ', '.join('%s %.2f' % item
                                       for item in entry[name]['cpu_ms_per_cycle'].items()))
            for name in stats.TARGETS if name in entry)), file=out)
    if 'memory' in report:
        print('memory of attachd: RSS %.1f MB (PSS %.1f MB): %s'
              % (report['memory']['rss_mb'], report['memory']['pss_mb'],
                 ', '.join('%s %.1f MB' % (k, v['rss_mb'])
                           for k, v in report['memory']['processes'].items())), file=out)
    if report.get('startup_s') is not None:
        print('attachd-all: first answered request %.2f s after start' % report['startup_s'],
              file=out)
    if 'list_scaling' in report:
        ls = report['list_scaling']
        for size in [k for k in ls if k != 'ratio']:
            print('list, %7s attachments in the DB: page of 1000 summary %s ms, detail %s ms, '
                  'detail after marker %s ms (median)'
                  % (size, ls[size]['summary']['median_ms'], ls[size]['detail']['median_ms'],
                     ls[size]['detail_after_marker']['median_ms']), file=out)
        print('list cost ratio, largest/smallest: %s' % ls['ratio'], file=out)
    if 'cycle_with_100k_attachments' in report:
        s = report['cycle_with_100k_attachments']
        print('attach cycle at c=%d with 100,000 more attachments in the DB: %.1f cycles/s, '
              'errors %d' % (s['concurrency'], s['cycles_per_s'], s['error_count']), file=out)
    errors = report.get('errors')
    if errors:
        print('RUN HAD ERRORS: %d failed requests (see "errors" per row)' % errors, file=out)
    print(json.dumps(report, sort_keys=True), file=out)
    out.flush()
