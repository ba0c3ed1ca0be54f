"""attachd-manage: operator commands (database schema)."""

import sys

from oslo_config import cfg

from attachd.cmd import common
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.db import migration


class DbCommands:
    """``attachd-manage db ...``"""

    @staticmethod
    def sync():
        """Create or upgrade the schema of [database] connection to the latest version."""
        migration.upgrade(CONF.command.revision)
        print('Database %s is at revision %s' % (_shown_url(), migration.version()))

    @staticmethod
    def version():
        """Print the schema revision of [database] connection."""
        print(migration.version() or 'None (empty database)')


def _shown_url():
    return db_api.get_engine().url.render_as_string(hide_password=True)


def _add_db_parsers(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    db_sub = db.add_subparsers(dest='action')
    db_sub.required = True
    sync = db_sub.add_parser('sync', help=DbCommands.sync.__doc__)
    sync.add_argument('revision', nargs='?', default='head',
                      help='Revision to upgrade to (default: head).')
    sync.set_defaults(func=DbCommands.sync)
    version = db_sub.add_parser('version', help=DbCommands.version.__doc__)
    version.set_defaults(func=DbCommands.version)


command_opt = cfg.SubCommandOpt('command', title='Commands', handler=_add_db_parsers,
                                help='Available commands')


@common.main
def main(argv=None):
    CONF.register_cli_opt(command_opt)
    common.parse_args(argv, description='attachd operator commands')
    CONF.command.func()
    return 0


if __name__ == '__main__':
    sys.exit(main())
