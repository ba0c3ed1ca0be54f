"""The policy rules in code: Cinder's names, and who they let through."""

import os
import time

import fixtures

from attachd import context
from attachd import exception
from attachd import policies
from attachd import policy
from attachd.policies import attachments
from attachd.policies import types
from attachd.policies import volume_actions
from attachd.tests import base


class PolicyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)

    @staticmethod
    def ctx(roles, project='aaaa'):
        return context.RequestContext(user_id='u', project_id=project, roles=roles)

    def test_cinder_rule_names_are_registered(self):
        names = {rule.name for rule in policies.list_rules()}
        for name in ('volume:attachment_create', 'volume:attachment_update',
                     'volume:attachment_delete', 'volume:attachment_complete',
                     'volume:multiattach_bootable_volume', 'volume:multiattach',
                     'volume_extension:volume_actions:begin_detaching',
                     'volume_extension:volume_actions:roll_detaching',
                     'volume_extension:volume_admin_actions:reset_status',
                     'volume_extension:volume_admin_actions:force_detach',
                     'volume_extension:types_manage', 'volume:reimage',
                     'volume:reimage_reserved'):
            self.assertIn(name, names)
        self.assertEqual(len(names), len(policies.list_rules()))

    def test_member_of_the_project(self):
        policy.authorize(self.ctx(['member']), attachments.CREATE, {'project_id': 'aaaa'})

    def test_member_of_another_project(self):
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          self.ctx(['member']), attachments.UPDATE, {'project_id': 'bbbb'})

    def test_reader_may_not_write(self):
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          self.ctx(['reader']), attachments.DELETE, {'project_id': 'aaaa'})

    def test_admin_everywhere(self):
        policy.authorize(self.ctx(['admin']), attachments.COMPLETE, {'project_id': 'bbbb'})
        policy.authorize(self.ctx(['admin']), types.MANAGE, {'project_id': 'aaaa'})

    def test_admin_actions_need_admin(self):
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          self.ctx(['member']), volume_actions.FORCE_DETACH,
                          {'project_id': 'aaaa'})

    def test_policy_file_overrides_a_default(self):
        path = self.state_path + '/policy.yaml'
        with open(path, 'w') as f:
            f.write('"volume:attachment_create": "role:admin"\n')
        self.flags(group='oslo_policy', policy_file=path)
        policy.reset()
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          self.ctx(['member']), attachments.CREATE, {'project_id': 'aaaa'})

    def _count_enforcer_calls(self):
        calls = []
        real = policy.init().authorize

        def counting(*args, **kwargs):
            calls.append(args[0])
            return real(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(policy.init(), 'authorize', counting))
        return calls

    def test_decisions_are_reused_for_the_same_caller_and_target(self):
        calls = self._count_enforcer_calls()
        for _i in range(3):
            policy.authorize(self.ctx(['member']), attachments.CREATE, {'project_id': 'aaaa'})
            self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                              self.ctx(['member']), attachments.UPDATE,
                              {'project_id': 'bbbb'})
        self.assertEqual([attachments.CREATE, attachments.UPDATE], calls)
        # Another role set, target or action is decided afresh.
        policy.authorize(self.ctx(['member', 'reader']), attachments.CREATE,
                         {'project_id': 'aaaa'})
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          self.ctx(['member']), attachments.CREATE, {'project_id': 'cccc'})
        policy.authorize(self.ctx(['member']), attachments.COMPLETE, {'project_id': 'aaaa'})
        self.assertEqual(5, len(calls))

    def test_policy_file_change_applies_once_the_decision_expires(self):
        path = self.state_path + '/policy.yaml'
        with open(path, 'w') as f:
            f.write('"volume:attachment_create": "role:member"\n')
        self.flags(group='oslo_policy', policy_file=path)
        policy.reset()
        member = self.ctx(['member'])
        policy.authorize(member, attachments.CREATE, {'project_id': 'aaaa'})
        with open(path, 'w') as f:
            f.write('"volume:attachment_create": "role:admin"\n')
        # oslo.policy reloads a file whose modification time changed.
        os.utime(path, (time.time() + 5, time.time() + 5))
        now = time.monotonic()
        self.useFixture(fixtures.MockPatch('time.monotonic',
                                           return_value=now + policy.DECISION_TTL + 1))
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize, member,
                          attachments.CREATE, {'project_id': 'aaaa'})
