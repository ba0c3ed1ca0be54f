"""attachd-status: upgrade readiness checks (oslo.upgradecheck)."""

import os
import sys

from oslo_config import cfg
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
from sqlalchemy.engine import url as sa_url

from attachd import version
from attachd.cmd import common
from attachd.conf import CONF
from attachd.db import migration
from attachd.i18n import _


class Checks(upgradecheck.UpgradeCommands):
    """Checks an operator runs before and after upgrading attachd."""

    def _check_schema(self):
        url = sa_url.make_url(CONF.database.connection)
        if url.get_backend_name() == 'sqlite' and url.database and \
                not os.path.exists(url.database):
            # Connecting would create the file (and its directory): a check changes nothing.
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                _('The database %s does not exist: check [database] connection, or run '
                  '"attachd-manage db sync" to create it.') % url.database)
        try:
            current = migration.version()
        except Exception as exc:
            message = common.explain(exc)
            if message is None:
                raise
            return upgradecheck.Result(upgradecheck.Code.FAILURE, message)
        head = migration.head()
        if current == head:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        return upgradecheck.Result(
            upgradecheck.Code.FAILURE,
            _('The database schema is at %(current)s, the code expects %(head)s: run '
              '"attachd-manage db sync".') % {'current': current, 'head': head})

    _upgrade_checks = (
        (_('Database schema'), _check_schema),
        (_('Policy file'), (common_checks.check_policy_json, {'conf': CONF})),
    )


def _add_parsers(subparsers, checks):
    # oslo.upgradecheck's own parser, with a title: its --help shows an empty one.
    upgrade = subparsers.add_parser('upgrade', help=_('Upgrade readiness.'))
    upgrade.add_argument('check', choices=['check'],
                         help=_('Check that this node is ready for (or done with) an '
                                'upgrade.'))
    upgrade.add_argument('--json', action='store_true',
                         help=_('Print the results as JSON instead of a table.'))
    upgrade.set_defaults(action_fn=checks.check)


@common.main
def main(argv=None):
    from attachd import objects
    objects.register_all()
    checks = Checks()
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title=_('Commands'), help=_('Available commands'),
        handler=lambda subparsers: _add_parsers(subparsers, checks)))
    CONF(sys.argv[1:] if argv is None else argv, project='attachd',
         version=version.version_info.version_string())
    # What upgradecheck.main() does after parsing: check() reads --json from the module's CONF.
    upgradecheck.CONF = CONF
    return upgradecheck.run(CONF)


if __name__ == '__main__':
    sys.exit(main())
