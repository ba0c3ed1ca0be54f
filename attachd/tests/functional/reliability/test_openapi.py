"""The OpenAPI document served at /v3/openapi.json against the routes that really exist."""

import jsonschema
import schemathesis

from attachd.api import openapi
from attachd.api import router
from attachd.tests.functional.reliability import base as rbase

SAMPLE = {'project_id': rbase.PROJECT_A, 'key': 'some_key'}
GENERIC_404 = 'The resource could not be found.'


def _schemas(node):
    """Every JSON schema embedded in the document (request and response bodies)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'schema':
                yield value
            else:
                yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def _operations(document):
    for path, item in document['paths'].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


class OpenAPIDocumentTest(rbase.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.admin = rbase.Client(self.app, token='admin:%s' % rbase.PROJECT_A)
        response = self.client.get('/openapi.json')
        self.assertEqual(200, response.status, response)
        self.document = response.json

    def test_served_document_is_the_generated_one(self):
        self.assertEqual(openapi.generate(router.ROUTE_DECLARATIONS), self.document)
        self.assertEqual('3.1.0', self.document['openapi'])
        # Also with the project id in the URL, as every route.
        response = self.client.get('/%s/openapi.json' % rbase.PROJECT_A)
        self.assertEqual(self.document, response.json)

    def test_document_loads_and_its_schemas_are_valid(self):
        for schema in _schemas(self.document):
            jsonschema.Draft202012Validator.check_schema(schema)
        loaded = schemathesis.openapi.from_dict(self.document)
        operations = [result.ok() for result in loaded.get_all_operations()]
        self.assertEqual(len(list(_operations(self.document))), len(operations))

    def test_every_route_of_the_router_is_documented(self):
        mapper = router.make_mapper()
        methods = dict(router.ROUTE_DECLARATIONS)
        documented = {path: {m.upper() for m in item}
                      for path, item in self.document['paths'].items()}
        for route in mapper.matchlist:
            path = '/v3' + route.routepath
            if route.routepath == '/{project_id}' and route.defaults['route'] == '/':
                # The same route as '/{project_id}/' (routes strips the slash).
                path = '/v3/{project_id}/'
            self.assertIn(path, documented, 'route %s is not documented' % path)
            self.assertEqual(set(methods[route.defaults['route']]), documented[path], path)

    def test_no_documented_operation_is_missing_from_the_app(self):
        """Each documented path and method reaches a handler: never the router's generic
        404 (no such path) nor a 405."""
        for path, method, operation in _operations(self.document):
            concrete = path[len('/v3'):]
            for name in ('project_id', 'attachment_id', 'volume_id', 'type_id', 'key'):
                concrete = concrete.replace('{%s}' % name,
                                            SAMPLE.get(name, rbase.new_uuid()))
            body = {} if 'requestBody' in operation else None
            response = self.admin.request(method, concrete, body)
            self.assertNotEqual(405, response.status, (method, path, response))
            if response.status == 404:
                key = list(response.json)[0]
                self.assertNotEqual(GENERIC_404, response.json[key]['message'],
                                    (method, path))
            self.assertIn(str(response.status), operation['responses'],
                          (method, path, response))

    def test_documented_bodies_are_enforced(self):
        """An empty object breaks every documented request body, and the handler says
        400: the document holds the schemas the handlers validate with."""
        volume = self.volume()
        for path, method, operation in _operations(self.document):
            if 'requestBody' not in operation or '{project_id}' in path:
                continue
            schema = operation['requestBody']['content']['application/json']['schema']
            self.assertFalse(jsonschema.Draft202012Validator(schema).is_valid({}), path)
            concrete = path[len('/v3'):].replace('{volume_id}', volume.id)
            for name in ('attachment_id', 'type_id', 'key'):
                concrete = concrete.replace('{%s}' % name, rbase.new_uuid())
            response = self.admin.request(method, concrete, {})
            if '{attachment_id}' in path or '{type_id}' in path:
                # The body is checked after the resource is found, or before: both are
                # faults, never a success.
                self.assertIn(response.status, (400, 404), (method, path, response))
            else:
                self.assertFault(response, 400)

    def test_microversion_ranges_listed_per_body(self):
        create = self.document['paths']['/v3/attachments']['post']
        bodies = create['x-openstack-microversions']['bodies']
        self.assertEqual([('3.27', '3.53'), ('3.54', '3.71')],
                         [(b['min'], b['max']) for b in bodies])
        self.assertNotIn('mode', bodies[0]['schema']['properties']['attachment'][
            'properties'])
        self.assertIn('mode', create['requestBody']['content']['application/json'][
            'schema']['properties']['attachment']['properties'])
