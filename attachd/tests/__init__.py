"""attachd's tests. Importing this package sets up what every test relies on."""

import os

from attachd.common import concurrency

# As in the console scripts: oslo.service's threading backend (the manager's looping calls
# run on real threads), no eventlet.
concurrency.use_native_threads()

# oslo.db's provisioning looks for these servers (the "opportunistic" convention). SQLite is
# a file, not ":memory:", so that tests with threads share one database.
os.environ.setdefault(
    'OS_TEST_DBAPI_ADMIN_CONNECTION',
    ';'.join([
        'sqlite:////tmp/attachd-test-admin.db',
        'postgresql+psycopg2://openstack_citest:openstack_citest@127.0.0.1/postgres',
        'mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/',
    ]))

from attachd import objects  # noqa: E402

objects.register_all()
