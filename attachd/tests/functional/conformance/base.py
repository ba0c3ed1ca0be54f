"""What the conformance tests share: a project per test, openstacksdk connections to the
running server, and the end state read from the server's own database."""

import time
import uuid

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
import openstack.connection
import sqlalchemy

from attachd.tests.functional.conformance import server

# Nova's and Ironic's connector for a host that attaches over iSCSI.
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.1993-08.org.debian:01:conformance',
             'ip': '127.0.0.1', 'platform': 'x86_64', 'os_type': 'linux',
             'multipath': False, 'do_local_attach': False}


def service_headers():
    """Headers that make a request a service's (Nova's, Ironic's) under ``noauth``:
    ``X-Service-Token``, what Nova and Ironic send with the user's token (noauth gives it
    the roles of ``[keystone_authtoken] service_token_roles``)."""
    return {'X-Service-Token': 'nova:%s' % uuid.uuid4().hex}


class ConformanceTestCase(server.ServerTestCase):
    """A :class:`server.ServerTestCase` whose test works in a project of its own."""

    def setUp(self):
        super().setUp()
        self.project = uuid.uuid4().hex
        self.volume_endpoint = '%s/v3/%s' % (self.endpoint, self.project)

    def sdk(self, user='member', project=None, service=False, microversion=None):
        """An openstacksdk connection as ``user`` (``admin`` is an administrator), with
        keystoneauth's token-and-endpoint plugin carrying the noauth token.

        :param microversion: the block-storage microversion to pin; openstacksdk
            negotiates its highest one with the server when None.
        """
        project = project or self.project
        endpoint = '%s/v3/%s' % (self.endpoint, project)
        auth = token_endpoint.Token(endpoint, '%s:%s' % (user, project))
        session = ks_session.Session(auth=auth,
                                     additional_headers=service_headers() if service else {})
        options = {'block_storage_endpoint_override': endpoint,
                   'block_storage_api_version': '3'}
        if microversion:
            options['block_storage_default_microversion'] = microversion
        return openstack.connection.Connection(session=session, **options)

    def wait_volume(self, block_storage, volume_id, status, timeout=30):
        """Poll the volume through ``block_storage`` until it has ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            volume = block_storage.get_volume(volume_id)
            if volume.status == status:
                return volume
            if time.monotonic() > deadline:
                self.fail('volume %s is %s, not %s' % (volume_id, volume.status, status))
            time.sleep(0.05)

    def db_state(self, volume_id):
        """The volume as the server stored it: ``(status, deleted, {attachment id:
        attach_status})``, the attachments being those not deleted."""
        with self.server.engine().connect() as conn:
            row = conn.execute(sqlalchemy.text(
                'SELECT status, deleted FROM volumes WHERE id = :id'),
                {'id': volume_id}).one()
            attachments = conn.execute(sqlalchemy.text(
                'SELECT id, attach_status FROM volume_attachment '
                'WHERE volume_id = :id AND deleted = :deleted'),
                {'id': volume_id, 'deleted': False}).all()
        return row.status, bool(row.deleted), dict(attachments)

    def assertDbState(self, volume_id, status, attachments=None, deleted=False):
        """Check the stored volume; ``attachments``: ``{id: attach_status}``."""
        self.assertEqual((status, deleted, attachments or {}), self.db_state(volume_id))
