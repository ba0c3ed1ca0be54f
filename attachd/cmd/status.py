"""attachd-status: upgrade readiness checks (oslo.upgradecheck)."""

import sys

from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from attachd.conf import CONF
from attachd.db import migration
from attachd.i18n import _


class Checks(upgradecheck.UpgradeCommands):
    """Checks an operator runs before and after upgrading attachd."""

    def _check_schema(self):
        current = migration.version()
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


def main():
    from attachd import objects
    objects.register_all()
    return upgradecheck.main(CONF, project='attachd', upgrade_command=Checks())


if __name__ == '__main__':
    sys.exit(main())
