"""Project isolation and access rules under keystone auth (keystonemiddleware's
AuthTokenFixture validates the tokens), on SQLite, PostgreSQL and MySQL.

Callers: a member of project A (the owner), a member of project B, an administrator of a
third project, Nova (A's member token plus a service token) and a bare service user.
"""

from keystonemiddleware import fixture as ksm_fixture

from attachd.tests import base
from attachd.tests.functional.reliability import base as rbase

PROJECT_ADMIN = 'cccccccccccccccccccccccccccccccc'
PROJECT_SERVICE = 'dddddddddddddddddddddddddddddddd'

# Every volume action, with a body its schema accepts.
VOLUME_ACTIONS = {
    'os-reserve': None,
    'os-unreserve': None,
    'os-initialize_connection': {'connector': rbase.connector(9)},
    'os-terminate_connection': {'connector': rbase.connector(9)},
    'os-attach': {'instance_uuid': rbase.instance(9), 'mountpoint': '/dev/vdb'},
    'os-detach': None,
    'os-force_detach': None,
    'os-begin_detaching': None,
    'os-roll_detaching': None,
    'os-reset_status': {'status': 'available'},
    'os-update_readonly_flag': {'readonly': True},
}


class IsolationTest(rbase.ApiTestCase):

    auth_strategy = 'keystone'
    overrides = {('keystone_authtoken', 'www_authenticate_uri'): 'http://keystone.test/'}

    def setUp(self):
        tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        super().setUp()
        for token, project, roles in (
                ('a-member', rbase.PROJECT_A, ['member', 'reader']),
                ('b-member', rbase.PROJECT_B, ['member', 'reader']),
                ('admin', PROJECT_ADMIN, ['admin', 'member', 'reader']),
                ('service', PROJECT_SERVICE, ['service'])):
            tokens.add_token_data(token_id=token, user_id='user-' + token,
                                  project_id=project, role_list=roles)
        self.a = rbase.Client(self.app, token='a-member')
        self.b = rbase.Client(self.app, token='b-member')
        self.admin = rbase.Client(self.app, token='admin')
        self.service_user = rbase.Client(self.app, token='service')
        self.nova = rbase.Client(self.app, token='a-member',
                                 headers={'X-Service-Token': 'service'})
        self.b_with_service = rbase.Client(self.app, token='b-member',
                                           headers={'X-Service-Token': 'service'})
        # Project A's resources: an available volume, a volume attached to a server (a
        # connected, completed attachment) and a reservation.
        self.free = self.volume(project_id=rbase.PROJECT_A)
        self.used = self.volume(project_id=rbase.PROJECT_A, multiattach=True)
        response = self.nova.create(self.used.id, rbase.instance(1), rbase.connector(1))
        self.assertEqual(200, response.status, response)
        self.connected = response.json['attachment']['id']
        self.assertEqual(204, self.nova.complete(self.connected).status)
        response = self.a.create(self.used.id, rbase.instance(2))
        self.assertEqual(200, response.status, response)
        self.reserved = response.json['attachment']['id']
        self.a_ids = [self.free.id, self.used.id, self.connected, self.reserved]

    def _state(self):
        """What project A has, as stored (to prove a refused call changed nothing)."""
        state = []
        for volume_id in (self.free.id, self.used.id):
            volume = self.reload(volume_id)
            state.append((volume.id, volume.status, volume.attach_status))
            state.extend(sorted((a.id, a.attach_status, str(a.connector))
                                for a in self.live_attachments(volume_id)))
        return state

    def assertHidden(self, response, status=404, sent=None):
        """A fault that says nothing of A's resources: the same answer, up to the id the
        caller sent, as for an id that exists nowhere."""
        self.assertFault(response, status)
        for object_id in self.a_ids:
            if object_id != sent:
                self.assertNotIn(object_id.encode(), response.body)

    def test_other_project_gets_404_on_every_endpoint(self):
        before = self._state()
        for caller in (self.b, self.b_with_service):
            for attachment_id in (self.connected, self.reserved):
                path = '/attachments/%s' % attachment_id
                self.assertHidden(caller.get(path), sent=attachment_id)
                self.assertHidden(caller.update(attachment_id, rbase.connector(7)),
                                  sent=attachment_id)
                self.assertHidden(caller.remove(attachment_id), sent=attachment_id)
                self.assertHidden(caller.complete(attachment_id), sent=attachment_id)
                self.assertHidden(caller.get('/attachments?marker=%s' % attachment_id),
                                  sent=attachment_id)
                self.assertHidden(caller.get('/attachments/detail?marker=%s'
                                             % attachment_id), sent=attachment_id)
            for volume_id in (self.free.id, self.used.id):
                self.assertHidden(caller.create(volume_id, rbase.instance(7)),
                                  sent=volume_id)
                self.assertHidden(caller.create(volume_id, rbase.instance(7),
                                                rbase.connector(7)), sent=volume_id)
                self.assertHidden(caller.get('/volumes/%s' % volume_id), sent=volume_id)
                self.assertHidden(caller.get('/volumes/%s/encryption' % volume_id),
                                  sent=volume_id)
                self.assertHidden(caller.delete('/volumes/%s' % volume_id), sent=volume_id)
                self.assertHidden(caller.get('/volumes?marker=%s' % volume_id),
                                  sent=volume_id)
                for action, args in VOLUME_ACTIONS.items():
                    self.assertHidden(caller.post('/volumes/%s/action' % volume_id,
                                                  {action: args}), sent=volume_id)
        self.assertEqual(before, self._state())

    def test_other_project_never_lists_the_rows(self):
        queries = ['', '?all_tenants=1', '?all_tenants=True&project_id=%s' % rbase.PROJECT_A,
                   '?volume_id=%s' % self.used.id, '?instance_id=%s' % rbase.instance(1),
                   '?attach_status=attached', '?all_tenants=1&volume_id=%s' % self.used.id]
        for path in ('/attachments', '/attachments/detail'):
            for query in queries:
                for version in ('3.27', '3.30', '3.71'):
                    caller = rbase.Client(self.app, token='b-member', version=version)
                    response = caller.get(path + query)
                    self.assertIn(response.status, (200, 400), (path, query, response))
                    for object_id in self.a_ids:
                        self.assertNotIn(object_id.encode(), response.body, (path, query))
        for path in ('/volumes', '/volumes/detail'):
            for query in ('', '?all_tenants=1', '?all_tenants=1&project_id=%s'
                          % rbase.PROJECT_A, '?status=in-use'):
                response = self.b.get(path + query)
                for object_id in self.a_ids:
                    self.assertNotIn(object_id.encode(), response.body, (path, query))
        # The owner sees them, and so does an administrator asking for all projects
        # (but not by default: only its own project).
        owned = {a['id'] for a in self.a.get('/attachments').json['attachments']}
        self.assertEqual({self.connected, self.reserved}, owned)
        self.assertEqual([], self.admin.get('/attachments').json['attachments'])
        every = {a['id'] for a in self.admin.get('/attachments?all_tenants=1').json[
            'attachments']}
        self.assertEqual({self.connected, self.reserved}, every)

    def test_url_of_another_project_is_400(self):
        for path in ('/%s/attachments' % rbase.PROJECT_A,
                     '/%s/attachments/%s' % (rbase.PROJECT_A, self.connected),
                     '/%s/volumes/%s' % (rbase.PROJECT_A, self.used.id)):
            self.assertHidden(self.b.get(path), 400)

    def test_delete_rule_for_a_connected_attachment(self):
        path = '/attachments/%s' % self.connected
        # The owner without a service token: Nova must detach (409, OSSA-2023-003).
        self.assertFault(self.a.remove(self.connected), 409, 'ConflictNovaUsingAttachment')
        # Forged headers do not make a service.
        forged = rbase.Client(self.app, token='a-member',
                              headers={'X-Service-Roles': 'service', 'X-Roles': 'service'})
        self.assertFault(forged.remove(self.connected), 409)
        copied = rbase.Client(self.app, token='a-member',
                              headers={'X-Service-Token': 'a-member'})
        self.assertIn(copied.remove(self.connected).status, (401, 409))
        bogus = rbase.Client(self.app, token='a-member',
                             headers={'X-Service-Token': 'no-such-token'})
        self.assertIn(bogus.remove(self.connected).status, (401, 409))
        # An administrator is not a service either.
        self.assertFault(self.admin.remove(self.connected), 409)
        # Another project with a real service token still does not see it.
        self.assertHidden(self.b_with_service.remove(self.connected), sent=self.connected)
        self.assertEqual(200, self.a.get(path).status)
        self.assertEqual('in-use', self.reload(self.used.id).status)
        # Nova: the owner's token plus its service token.
        response = self.nova.remove(self.connected)
        self.assertEqual(200, response.status, response)
        self.assertConsistent(self.used.id)
        self.assertEqual('reserved', self.reload(self.used.id).status)

    def test_admin_with_service_token_may_delete_a_connected_attachment(self):
        admin_nova = rbase.Client(self.app, token='admin',
                                  headers={'X-Service-Token': 'service'})
        self.assertEqual(200, admin_nova.remove(self.connected).status)

    def test_reservation_deletable_by_its_owner(self):
        self.assertEqual(200, self.a.remove(self.reserved).status)
        self.assertConsistent(self.used.id)

    def test_force_detach_follows_the_same_rule(self):
        path = '/volumes/%s/action' % self.used.id
        body = {'os-force_detach': {'attachment_id': self.connected}}
        self.assertFault(self.a.post(path, body), 403)
        self.assertFault(self.nova.post(path, body), 403)
        self.assertFault(self.admin.post(path, body), 409)
        admin_nova = rbase.Client(self.app, token='admin',
                                  headers={'X-Service-Token': 'service'})
        self.assertEqual(202, admin_nova.post(path, body).status)
        self.assertConsistent(self.used.id)

    def test_admin_only_actions(self):
        volume_path = '/volumes/%s/action' % self.free.id
        admin_only = [
            ('POST', volume_path, {'os-reset_status': {'status': 'error'}}),
            ('POST', '/types', {'volume_type': {'name': 'gold'}}),
        ]
        for method, path, body in admin_only:
            for caller in (self.a, self.nova):
                self.assertFault(caller.request(method, path, body), 403)
        # A bare service user is neither admin nor of project A.
        self.assertIn(self.service_user.post(volume_path, admin_only[0][2]).status,
                      (403, 404))
        self.assertFault(self.service_user.post('/types', admin_only[1][2]), 403)
        self.assertEqual('available', self.reload(self.free.id).status)
        self.assertEqual(202, self.admin.post(volume_path, admin_only[0][2]).status)
        self.assertEqual('error', self.reload(self.free.id).status)
        response = self.admin.post('/types', admin_only[1][2])
        self.assertEqual(200, response.status, response)
        type_id = response.json['volume_type']['id']
        for caller in (self.a, self.nova, self.service_user):
            self.assertFault(caller.post('/types/%s/extra_specs' % type_id,
                                         {'extra_specs': {'k': 'v'}}), 403)
            self.assertFault(caller.delete('/types/%s' % type_id), 403)
        self.assertEqual(202, self.admin.delete('/types/%s' % type_id).status)

    def test_members_attach_their_own_volume_like_nova(self):
        attachment = self.nova.create(self.free.id, rbase.instance(3))
        self.assertEqual(200, attachment.status, attachment)
        attachment_id = attachment.json['attachment']['id']
        self.assertEqual(200, self.nova.update(attachment_id, rbase.connector(3)).status)
        self.assertEqual(204, self.nova.complete(attachment_id).status)
        self.assertEqual('in-use', self.reload(self.free.id).status)
        self.assertEqual(200, self.nova.remove(attachment_id).status)
        self.assertConsistent(self.free.id)


class IsolationMySQLTest(base.MySQLMixin, IsolationTest):
    pass


class IsolationPostgreSQLTest(base.PostgreSQLMixin, IsolationTest):
    pass
