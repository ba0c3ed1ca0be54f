"""Schemathesis against /v3/openapi.json on the in-process WSGI app.

Several thousand generated requests: schema-valid ones (positive) for every operation of
the document, and schema-breaking ones (negative) for the operations with a body. Path
parameters are sometimes swapped for ids that exist (a volume, an attachment, a type), so
the handlers behind the 404s run too. Every response must be a documented status with a
body matching the document (for errors: Cinder's fault body for exactly that status),
never a 5xx.
"""

import os

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import settings
from hypothesis import strategies as st
import schemathesis
from schemathesis import checks as st_checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks
import testtools.content

from attachd.tests.functional.reliability import base as rbase

# Examples per operation (positive), per operation with a body (negative) and per
# operation of the /v3/{project_id}/... forms; OS_FUZZ_SCALE multiplies them.
SCALE = float(os.environ.get('OS_FUZZ_SCALE', '1'))
POSITIVE = int(80 * SCALE)
NEGATIVE = int(60 * SCALE)
PREFIXED = int(12 * SCALE)

CHECKS = [st_checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance]


class FuzzTest(rbase.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.admin = rbase.Client(self.app, token='admin:%s' % rbase.PROJECT_A)
        response = self.client.get('/openapi.json')
        self.schema = schemathesis.openapi.from_dict(response.json)
        self.operations = [r.ok() for r in self.schema.get_all_operations()]
        self.sent = 0
        self.statuses = {}
        self._seed()

    def _seed(self):
        volume = self.volume()
        multi = self.volume(multiattach=True)
        attachment = self.client.create(multi.id, rbase.instance(1), rbase.connector(1))
        self.assertEqual(200, attachment.status, attachment)
        volume_type = self.admin.post('/types', {'volume_type': {
            'name': 'fuzz', 'extra_specs': {'multiattach': '<is> True'}}})
        self.assertEqual(200, volume_type.status, volume_type)
        self.known = {
            'volume_id': [volume.id, multi.id],
            'attachment_id': [attachment.json['attachment']['id']],
            'type_id': [volume_type.json['volume_type']['id'], 'fuzz'],
            'project_id': [rbase.PROJECT_A],
            'key': ['multiattach'],
        }

    def _headers(self, data):
        token = data.draw(st.sampled_from(['user:%s' % rbase.PROJECT_A,
                                           'admin:%s' % rbase.PROJECT_A,
                                           'other:%s' % rbase.PROJECT_B]))
        version = data.draw(st.sampled_from(['3.71', '3.71', '3.53', '3.27', '3.0']))
        return {'X-Auth-Token': token, 'OpenStack-API-Version': 'volume %s' % version}

    def _send(self, case, data):
        for name in list(case.path_parameters or {}):
            if name in self.known and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(self.known[name]))
        response = case.call(app=self.app, headers=self._headers(data))
        self.sent += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)
        self.assertNotIn(b'Traceback', response.content)
        if response.status_code >= 400:
            body = response.json()
            key = rbase.FAULT_KEYS.get(response.status_code, 'computeFault')
            self.assertEqual([key], list(body), body)
            self.assertEqual(response.status_code, body[key]['code'])

    def _fuzz(self, operation, mode, examples):
        strategy = operation.as_strategy(generation_mode=mode)

        @settings(max_examples=examples, deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, data=st.data())
        def run(case, data):
            self._send(case, data)

        run()

    def test_fuzz_every_operation(self):
        for operation in self.operations:
            prefixed = '{project_id}' in operation.path
            self._fuzz(operation, GenerationMode.POSITIVE,
                       PREFIXED if prefixed else POSITIVE)
            if operation.body and not prefixed:
                self._fuzz(operation, GenerationMode.NEGATIVE, NEGATIVE)
        self.addDetail('fuzz', testtools.content.text_content(
            '%d requests, statuses %s' % (self.sent, sorted(self.statuses.items()))))
        # Proof the run really exercised the API, not just the 404 path.
        self.assertGreater(self.sent, 2000)
        for status in (200, 202, 400, 404):
            self.assertIn(status, self.statuses)
        self.assertEqual([], [s for s in self.statuses if s >= 500], self.statuses)
