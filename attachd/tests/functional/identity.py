"""A real Keystone for the tests: the ``keystone`` package from PyPI (test-requirements),
on SQLite, served by gunicorn in a child process on a free loopback port.

:class:`KeystoneFixture` prepares its database and keys with ``keystone-manage`` and
creates the users of attachd's access tests through Keystone's own API:

========== ============ ===================================================
user       project      roles
========== ============ ===================================================
a-reader   project-a    reader
a-member   project-a    member (implies reader)
a-service  project-a    member and service: a user, not a service caller
b-member   project-b    member
admin      admin        admin (``keystone-manage bootstrap``)
nova       service      service: Nova's service user
attachd    service      service: keystonemiddleware validates tokens with it
========== ============ ===================================================

Every user's password is :data:`PASSWORD`.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import fixtures
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from attachd.tests.functional.deploy import base as deploy_base

PASSWORD = 'secret-password'
USERS = (
    ('a-reader', 'project-a', ('reader',)),
    ('a-member', 'project-a', ('member',)),
    ('a-service', 'project-a', ('member', 'service')),
    ('b-member', 'project-b', ('member',)),
    ('nova', 'service', ('service',)),
    ('attachd', 'service', ('service',)),
)

_CONF = """[DEFAULT]
log_file = {dir}/keystone.log
[database]
connection = sqlite:///{dir}/keystone.sqlite
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/receipt-keys
[credential]
key_repository = {dir}/credential-keys
[identity]
# bcrypt's fewest rounds: each password authentication costs milliseconds, not 0.3 s.
password_hash_rounds = 4
"""


def available():
    """True when the keystone package is installed (test-requirements.txt)."""
    try:
        import keystone.server.wsgi  # noqa: F401
    except ImportError:
        return False
    return True


class KeystoneFixture(fixtures.Fixture):
    """A running Keystone; ``self.url`` is its identity endpoint (``.../v3``),
    ``self.projects`` and ``self.users`` map names to ids, ``self.setup_seconds`` what
    starting it cost."""

    def __init__(self, workdir=None, threads=8, users=USERS):
        """:param workdir: where Keystone's files and logs go (kept), instead of a
            temporary directory.
        :param threads: gunicorn's threads; 1 serialises Keystone's requests, which its
            SQLite database needs under concurrent writers (tempest's dynamic
            credentials).
        :param users: ``(user, project, roles)`` to create, :data:`USERS` by default.
        """
        super().__init__()
        self.workdir = workdir
        self.threads = threads
        self.user_projects = {user: project for user, project, _roles in users}
        self.user_projects['admin'] = 'admin'
        self._users = users

    def _setUp(self):
        start = time.monotonic()
        self.dir = self.workdir or self.useFixture(fixtures.TempDir()).path
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, 'keystone.conf')
        with open(self.config, 'w') as f:
            f.write(_CONF.format(dir=self.dir))
        port = deploy_base.free_port()
        self.url = 'http://127.0.0.1:%d/v3' % port
        self._prepare()
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.config,
                   PYTHONWARNINGS='ignore')
        log = open(os.path.join(self.dir, 'gunicorn.log'), 'wb')
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [deploy_base.console_script('gunicorn'), '--bind', '127.0.0.1:%d' % port,
             '--workers', '1', '--threads', str(self.threads),
             'attachd.tests.functional.keystone_wsgi:application'],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.addCleanup(deploy_base.ProcessMixin.stop, process)
        deploy_base.wait_http(self.url, timeout=60, process=process)
        self._create_users()
        self.setup_seconds = time.monotonic() - start

    def _manage(self, *args):
        return subprocess.Popen(
            [deploy_base.console_script('keystone-manage'), '--config-file', self.config]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONWARNINGS='ignore'))

    def _prepare(self):
        """The database and keys; the key set-ups run beside the schema migration.

        fernet_setup and receipt_setup one after the other: fernet_setup initializes the
        receipt key repository too when it is missing, and two initializations at once
        race on its first key (receipt_setup failed once renaming ``0.tmp``).
        """
        owner = ['--keystone-user', str(os.getuid()), '--keystone-group', str(os.getgid())]
        steps = [self._manage('db_sync'), self._manage('credential_setup', *owner)]
        self._check(self._manage('fernet_setup', *owner))
        self._check(self._manage('receipt_setup', *owner))
        for step in steps:
            self._check(step)
        self._check(self._manage('bootstrap', '--bootstrap-password', PASSWORD,
                                 '--bootstrap-region-id', 'RegionOne',
                                 '--bootstrap-public-url', self.url,
                                 '--bootstrap-internal-url', self.url))

    @staticmethod
    def _check(process):
        output = process.communicate(timeout=300)[0]
        if process.returncode:
            raise RuntimeError('%s failed (exit status %s): %s' % (
                process.args, process.returncode, output.decode()[-3000:]))

    def session(self, user, project=None):
        """A keystoneauth1 session of ``user`` (password auth) scoped to ``project`` (by
        default the user's project among the fixture's users)."""
        if project is None:
            project = self.user_projects[user]
        auth = v3.Password(auth_url=self.url, username=user, password=PASSWORD,
                           user_domain_id='default', project_name=project,
                           project_domain_id='default')
        return ks_session.Session(auth=auth)

    def token(self, user, project=None):
        """A fresh token of ``user``, fetched with password auth."""
        return self.session(user, project).get_token()

    def _create_users(self):
        admin = self.session('admin')
        ids = {}
        for kind in ('projects', 'users', 'roles'):
            listing = admin.get('%s/%s' % (self.url, kind)).json()[kind]
            ids[kind] = {item['name']: item['id'] for item in listing}
        for user, project, roles in self._users:
            if project not in ids['projects']:
                ids['projects'][project] = admin.post(self.url + '/projects', json={
                    'project': {'name': project, 'domain_id': 'default'}}).json()[
                    'project']['id']
            ids['users'][user] = admin.post(self.url + '/users', json={'user': {
                'name': user, 'password': PASSWORD, 'domain_id': 'default',
                'default_project_id': ids['projects'][project]}}).json()['user']['id']
            for role in roles:
                admin.put('%s/projects/%s/users/%s/roles/%s' % (
                    self.url, ids['projects'][project], ids['users'][user],
                    ids['roles'][role]))
        self.projects = ids['projects']
        self.users = ids['users']
        self.roles = ids['roles']
        self._admin = admin

    def add_endpoint(self, service_type, url):
        """Register a service of ``service_type`` with a public endpoint ``url`` in the
        catalog (the tokens issued afterwards list it)."""
        service = self._admin.post(self.url + '/services', json={'service': {
            'type': service_type, 'name': service_type}}).json()['service']
        self._admin.post(self.url + '/endpoints', json={'endpoint': {
            'service_id': service['id'], 'interface': 'public', 'url': url,
            'region_id': 'RegionOne'}})

    def configure(self, config, group, user='attachd'):
        """Set ``group`` of the oslo.config fixture ``config`` to keystoneauth1's password
        auth of ``user`` in its project. The plugin's options are registered through the
        fixture, which removes them at clean-up: libraries register them only when they
        load the plugin, and ``auth_url`` is required once registered."""
        config.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                             group=group)
        config.config(group=group, auth_type='password', auth_url=self.url,
                      username=user, password=PASSWORD, user_domain_id='default',
                      project_name=self.user_projects[user],
                      project_domain_id='default')

    def configure_authtoken(self, config):
        """``[keystone_authtoken]`` of attachd for this Keystone."""
        self.configure(config, 'keystone_authtoken')
        config.config(group='keystone_authtoken', www_authenticate_uri=self.url,
                      service_token_roles_required=True)


def main():
    """Start a Keystone by hand to try attachd against it; stops on SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.set())
    with KeystoneFixture() as keystone:
        print('Keystone at %s (users of attachd.tests.functional.identity, password %s), '
              'ready in %.1f s' % (keystone.url, PASSWORD, keystone.setup_seconds))
        sys.stdout.flush()
        stop.wait()


if __name__ == '__main__':
    main()
