"""attachd-bench: the attach cycle as Nova makes it, attachd against the floor.

    attachd-bench --mode deployed            # gunicorn + attachd-manager + PostgreSQL + RabbitMQ
    attachd-bench --mode embedded            # attachd-all with SQLite
    attachd-bench --mode ceiling             # the load generator against an app doing nothing

See doc/source/performance.rst for the method and the figures.
"""

import argparse
import signal
import sys

from attachd.bench import deploy
from attachd.bench import runner
from attachd.cmd import api as api_cmd


def _concurrency_list(text):
    try:
        values = [int(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError('a comma-separated list of integers')
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError('concurrencies must be >= 1')
    return values


def build_parser():
    parser = argparse.ArgumentParser(
        prog='attachd-bench',
        description='Measure attach cycles/s of attachd and of the floor (a bare WSGI app '
                    'doing one transaction per request) side by side, from a clean '
                    'deployment that the benchmark starts and tears down.')
    parser.add_argument('--mode', choices=('deployed', 'embedded', 'ceiling'),
                        default='deployed',
                        help='deployed: gunicorn API + attachd-manager on RabbitMQ + a fresh '
                             'PostgreSQL database; embedded: attachd-all on SQLite; ceiling: '
                             'the load generator against a WSGI app that does nothing.')
    parser.add_argument('--concurrency', type=_concurrency_list, default=[1, 4, 16, 64],
                        help='comma-separated numbers of concurrent clients (default '
                             '1,4,16,64); each owns one volume.')
    parser.add_argument('--duration', type=float, default=15.0,
                        help='seconds measured per run (default 15).')
    parser.add_argument('--warmup', type=float, default=2.0,
                        help='seconds of load before each measured run (default 2).')
    parser.add_argument('--rounds', type=int, default=3,
                        help='runs per target and concurrency; the median is reported '
                             '(default 3).')
    parser.add_argument('--workers', type=int, default=2,
                        help='gunicorn worker processes for the API and the floor '
                             '(default 2; deployed mode).')
    parser.add_argument('--threads', type=int, default=8,
                        help='threads per worker (gunicorn), or of attachd-all\'s '
                             'server in embedded mode (default 8).')
    parser.add_argument('--worker-class', default=api_cmd.WORKER_CLASS,
                        help='gunicorn worker class of the API and the floor (default: '
                             'attachd-api\'s, %s; gthread to compare).' % api_cmd.WORKER_CLASS)
    parser.add_argument('--managers', type=int, default=1,
                        help='attachd-manager processes (default 1; deployed mode).')
    parser.add_argument('--driver', default='fake',
                        help='connector driver of the benchmark backend (default fake).')
    parser.add_argument('--client-processes', type=int, default=2,
                        help='load generator processes the workers are spread over '
                             '(default 2).')
    parser.add_argument('--no-list-scaling', dest='list_scaling', action='store_false',
                        help='skip the list timing with 1,000 and 100,000 attachments.')
    parser.add_argument('--scaled-cycle', type=int, default=16,
                        help='after the list timing, run the cycle once more at this '
                             'concurrency with the 100,000 attachments in the database '
                             '(0 to skip; default 16).')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary directory with the processes\' logs.')
    return parser


def _terminate(signum, frame):
    # Unwind through the runner's finally blocks, which stop every process and drop the
    # database.
    raise SystemExit(128 + signum)


def main(argv=None):
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        if args.mode == 'ceiling':
            runner.ceiling(args)
            return 0
        report = runner.run(args)
    except deploy.BenchError as exc:
        print('attachd-bench: %s' % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('attachd-bench: interrupted; everything started was stopped', file=sys.stderr)
        return 130
    return 1 if report.get('errors') else 0


if __name__ == '__main__':
    sys.exit(main())
