"""The sample configuration documents the options of every installed connector driver,
found through the entry points rather than a list in the code."""

from unittest import mock

from oslo_config import cfg
from stevedore import extension

from attachd.drivers import opts
from attachd.drivers import tgt
from attachd.tests import base


class OutOfTreeDriver:
    OPTS = [cfg.StrOpt('out_of_tree_pool', help='A pool of a driver of another package.')]


class DriverOptsTest(base.TestCase):

    def test_every_entry_point_driver_is_documented(self):
        installed = extension.ExtensionManager('attachd.connector_drivers')
        plugin = mock.Mock(plugin=OutOfTreeDriver)
        plugin.name = 'outoftree'
        manager = extension.ExtensionManager.make_test_instance(
            list(installed) + [plugin], namespace='attachd.connector_drivers')
        with mock.patch.object(extension, 'ExtensionManager', return_value=manager):
            names = [opt.name for opt in dict(opts.list_opts())['backend_name']]
        self.assertIn('out_of_tree_pool', names)
        self.assertIn(tgt.OPTS[0].name, names)
        self.assertEqual(len(names), len(set(names)))
