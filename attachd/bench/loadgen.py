"""The load generator: C workers, each owning one volume, repeating Nova's attach cycle.

A cycle is what Nova does to attach a volume to a running server and detach it again:

1. ``POST /v3/{project}/attachments`` with ``volume_uuid`` and ``instance_uuid`` (reserve)
2. ``PUT /v3/{project}/attachments/{id}`` with an os-brick connector (connect)
3. ``POST /v3/{project}/attachments/{id}/action`` ``{"os-complete": null}`` (complete)
4. ``DELETE /v3/{project}/attachments/{id}`` (detach)

Every request carries the service role of Nova's service token, as Nova's do.

Workers are threads with blocking keep-alive connections (:mod:`attachd.bench.httpclient`),
spread over a few processes so that one GIL does not cap the generator. Every request's
latency is recorded with the time it completed; only requests that complete inside the
measurement window count, and a cycle counts when its DELETE does. A failed step is counted
under its operation and HTTP status (0 for a connection error); the worker then deletes what
it reserved, so the next cycle starts from an available volume again.
"""

import json
import multiprocessing
import os
import threading
import time
import uuid

from attachd.bench import httpclient

OPERATIONS = ('create', 'update', 'complete', 'delete')
MICROVERSION = '3.44'   # what Nova sends (MIN_CINDER_MICROVERSION)


def connector_for(worker_index):
    """An os-brick connector as Nova's libvirt driver sends it, mountpoint included."""
    return {
        'platform': 'x86_64',
        'os_type': 'linux',
        'ip': '192.0.2.%d' % (worker_index % 250 + 1),
        'host': 'compute-%d' % worker_index,
        'multipath': False,
        'enforce_multipath': True,
        'initiator': 'iqn.2004-10.com.ubuntu:01:bench%04d' % worker_index,
        'do_local_attach': False,
        'system uuid': str(uuid.UUID(int=worker_index + 1)),
        'mountpoint': '/dev/vdb',
    }


class Target:
    """Where and as whom the workers talk: picklable, handed to the worker processes."""

    def __init__(self, host, port, project_id, user='nova', service_token=True):
        self.host = host
        self.port = port
        self.project_id = project_id
        headers = ['X-Auth-Token: %s:%s' % (user, project_id),
                   'OpenStack-API-Version: volume %s' % MICROVERSION,
                   'Content-Type: application/json',
                   'Accept: application/json']
        if service_token:
            # Nova's service token, sent with the user's (noauth: any user:project).
            headers.append('X-Service-Token: nova:service')
        self.headers = ''.join(h + '\r\n' for h in headers)
        self.base = '/v3/%s/attachments' % project_id


class WorkerStats:
    def __init__(self):
        self.latencies = {op: [] for op in OPERATIONS}
        self.errors = {}
        self.cycles = 0
        self.requests = 0
        self.error_samples = []

    def error(self, op, status, body):
        key = '%s %s' % (op, status)
        self.errors[key] = self.errors.get(key, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append('%s: %s' % (key, body[:300]))


def run_cycles(target, index, volume_id, t_start, t_end, stats):
    """One worker: attach cycles on ``volume_id`` until ``t_end`` (monotonic clock)."""
    conn = httpclient.Connection(target.host, target.port)
    headers = target.headers
    base = target.base
    instance_uuid = str(uuid.UUID(int=(1 << 64) + index))
    create_body = json.dumps({'attachment': {'volume_uuid': volume_id,
                                             'instance_uuid': instance_uuid}}).encode()
    update_body = json.dumps({'attachment': {'connector': connector_for(index)}}).encode()
    complete_body = b'{"os-complete": null}'
    clock = time.monotonic

    def call(op, method, path, body, expect):
        started = clock()
        try:
            response = conn.request(method, path, headers, body)
        except (OSError, httpclient.HTTPError) as exc:
            conn.close()
            finished = clock()
            if t_start <= finished <= t_end:
                stats.error(op, 0, str(exc).encode())
            return None
        finished = clock()
        counted = t_start <= finished <= t_end
        if counted:
            stats.requests += 1
        if response.status != expect:
            if counted:
                stats.error(op, response.status, response.body)
            return None
        if counted:
            stats.latencies[op].append(finished - started)
        return response

    while clock() < t_end:
        response = call('create', 'POST', base, create_body, 200)
        if response is None:
            _recover(conn, target, volume_id)
            continue
        attachment_path = '%s/%s' % (base, json.loads(response.body)['attachment']['id'])
        ok = (call('update', 'PUT', attachment_path, update_body, 200) is not None and
              call('complete', 'POST', attachment_path + '/action', complete_body, 204)
              is not None)
        response = call('delete', 'DELETE', attachment_path, b'', 200)
        if response is None:
            _recover(conn, target, volume_id)
        elif ok and t_start <= clock() <= t_end:
            stats.cycles += 1
    conn.close()


def _recover(conn, target, volume_id):
    """After an error: delete any attachment left on the worker's volume, so the next
    reservation does not fail because of the previous one. Not measured."""
    time.sleep(0.01)
    try:
        response = conn.request('GET', '%s?volume_id=%s' % (target.base, volume_id),
                                target.headers)
        if response.status != 200:
            return
        for attachment in json.loads(response.body)['attachments']:
            conn.request('DELETE', '%s/%s' % (target.base, attachment['id']), target.headers)
    except (OSError, httpclient.HTTPError, ValueError, KeyError):
        conn.close()


def _process_main(target, assignments, t_start, t_end, results):
    """A load generator process: one thread per (worker index, volume)."""
    cpu_before = os.times()
    stats = []
    threads = []
    for index, volume_id in assignments:
        worker_stats = WorkerStats()
        stats.append(worker_stats)
        thread = threading.Thread(target=run_cycles,
                                  args=(target, index, volume_id, t_start, t_end,
                                        worker_stats),
                                  daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    cpu_after = os.times()
    merged = WorkerStats()
    for worker_stats in stats:
        for op in OPERATIONS:
            merged.latencies[op].extend(worker_stats.latencies[op])
        for key, count in worker_stats.errors.items():
            merged.errors[key] = merged.errors.get(key, 0) + count
        merged.cycles += worker_stats.cycles
        merged.requests += worker_stats.requests
        merged.error_samples.extend(worker_stats.error_samples[:2])
    results.put({'latencies': merged.latencies, 'errors': merged.errors,
                 'cycles': merged.cycles, 'requests': merged.requests,
                 'error_samples': merged.error_samples[:5],
                 'cpu': (cpu_after.user - cpu_before.user) +
                        (cpu_after.system - cpu_before.system)})


def run(target, volume_ids, duration, warmup=2.0, processes=2):
    """Run ``len(volume_ids)`` workers for ``warmup + duration`` seconds; returns the merged
    raw results of the measurement window (latencies in seconds)."""
    concurrency = len(volume_ids)
    processes = max(1, min(processes, concurrency))
    ctx = multiprocessing.get_context('fork')
    results = ctx.Queue()
    # Workers start after every process is up, so slow process start-up is not measured.
    t_start = time.monotonic() + 0.5 + warmup
    t_end = t_start + duration
    procs = []
    for p in range(processes):
        assignments = [(i, volume_ids[i]) for i in range(p, concurrency, processes)]
        proc = ctx.Process(target=_process_main,
                           args=(target, assignments, t_start, t_end, results),
                           daemon=True)
        proc.start()
        procs.append(proc)
    merged = {'latencies': {op: [] for op in OPERATIONS}, 'errors': {}, 'cycles': 0,
              'requests': 0, 'cpu': 0.0, 'error_samples': [], 'duration': duration,
              'concurrency': concurrency}
    for _p in procs:
        part = results.get(timeout=warmup + duration + 300)
        for op in OPERATIONS:
            merged['latencies'][op].extend(part['latencies'][op])
        for key, count in part['errors'].items():
            merged['errors'][key] = merged['errors'].get(key, 0) + count
        merged['cycles'] += part['cycles']
        merged['requests'] += part['requests']
        merged['cpu'] += part['cpu']
        merged['error_samples'].extend(part['error_samples'])
    for proc in procs:
        proc.join(timeout=30)
    return merged
