"""The floor app under attachd-all's own WSGI server (embedded mode's side by side).

    ATTACHD_FLOOR_DB=sqlite:///path python -m attachd.bench.embedded_floor --port P --threads T
"""

import argparse
import os

from attachd.bench import floor
from attachd.common import wsgi_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--threads', type=int, default=16)
    args = parser.parse_args()
    app = floor.make_app(os.environ['ATTACHD_FLOOR_DB'])
    server = wsgi_server.make_server('127.0.0.1', args.port, app, args.threads)
    # SIGTERM's default action ends it; there is nothing to clean up.
    server.serve_forever()


if __name__ == '__main__':
    main()
