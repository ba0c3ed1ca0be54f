"""Percentiles, medians over repeated runs, the table and the JSON line."""

import statistics

from attachd.bench.loadgen import OPERATIONS

PERCENTILES = (50, 95, 99)
# What a run drives, in the order the table shows them.
TARGETS = ('attachd', 'floor', 'rpc_floor')
# attachd's rate divided by each floor's, as the summary names it.
RATIOS = (('ratio', 'floor'), ('ratio_rpc_floor', 'rpc_floor'))


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-pct * len(sorted_values) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(raw):
    """One run's figures: rates, per-operation latency percentiles in ms, errors."""
    duration = raw['duration']
    ops = {}
    for op in OPERATIONS:
        values = sorted(raw['latencies'][op])
        ops[op] = {'count': len(values)}
        for pct in PERCENTILES:
            value = percentile(values, pct)
            ops[op]['p%d' % pct] = None if value is None else round(value * 1000, 2)
    requests = raw['requests']
    return {
        'concurrency': raw['concurrency'],
        'duration': duration,
        'cycles': raw['cycles'],
        'cycles_per_s': round(raw['cycles'] / duration, 2),
        'requests_per_s': round(requests / duration, 1),
        'ops': ops,
        'errors': dict(raw['errors']),
        'error_count': sum(raw['errors'].values()),
        'error_samples': raw['error_samples'],
        'client_cpu_us_per_request': round(raw['cpu'] / requests * 1e6, 1) if requests else None,
    }


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def median_of_runs(runs):
    """The median of each figure over repeated runs of the same target and concurrency;
    errors are summed, never averaged away."""
    first = runs[0]
    result = {
        'concurrency': first['concurrency'],
        'runs': len(runs),
        'cycles_per_s': _median([r['cycles_per_s'] for r in runs]),
        'requests_per_s': _median([r['requests_per_s'] for r in runs]),
        'cycles_per_s_each': [r['cycles_per_s'] for r in runs],
        'ops': {},
        'errors': {},
        'error_samples': [s for r in runs for s in r['error_samples']][:5],
        'client_cpu_us_per_request': _median([r['client_cpu_us_per_request'] for r in runs]),
    }
    for op in OPERATIONS:
        result['ops'][op] = {'p%d' % pct: _median([r['ops'][op]['p%d' % pct] for r in runs])
                             for pct in PERCENTILES}
    for r in runs:
        for key, count in r['errors'].items():
            result['errors'][key] = result['errors'].get(key, 0) + count
    result['error_count'] = sum(result['errors'].values())
    return result


def _fmt(value, spec='%.1f'):
    return '-' if value is None else spec % value


def table(mode_title, summary):
    """The human table: attachd and the floors side by side for each concurrency."""
    lines = [mode_title]
    header = '%-10s %4s %9s %8s' % ('target', 'c', 'cycles/s', 'req/s')
    for op in OPERATIONS:
        header += ' %20s' % ('%s p50/95/99 ms' % op)
    header += '  errors'
    lines.append(header)
    for concurrency in sorted(summary, key=int):
        entry = summary[concurrency]
        for name in TARGETS:
            figures = entry.get(name)
            if figures is None:
                continue
            line = '%-10s %4s %9s %8s' % (name, concurrency,
                                         _fmt(figures['cycles_per_s']),
                                         _fmt(figures['requests_per_s']))
            for op in OPERATIONS:
                o = figures['ops'][op]
                line += ' %20s' % ('%s/%s/%s' % (_fmt(o['p50']), _fmt(o['p95']),
                                                  _fmt(o['p99'])))
            errors = figures['error_count']
            line += '  %s' % (errors if not errors else '%d %s' % (errors, figures['errors']))
            lines.append(line)
        for key, floor_name in RATIOS:
            if entry.get(key) is None:
                continue
            line = '%-10s %4s %9s' % ('/' + floor_name, concurrency, '%.3f' % entry[key])
            p99 = entry.get('p99_' + key) or {}
            line += '          p99 attachd/%s: ' % floor_name + ', '.join(
                '%s %s' % (op, _fmt(p99.get(op), '%.2f')) for op in OPERATIONS)
            lines.append(line)
    return '\n'.join(lines)
