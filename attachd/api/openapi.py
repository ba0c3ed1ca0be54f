"""The OpenAPI 3.1 document of the v3 API, generated from the routing table and the JSON
schemas the handlers validate with; served at ``GET /v3/openapi.json``.

Paths and methods come from :data:`attachd.api.router.ROUTE_DECLARATIONS` (each in its two
forms, with and without ``{project_id}``); request bodies from the handlers' own
``validation.schema`` decorators (the newest microversion range is the operation's body;
every range is listed under ``x-openstack-microversions``) and, for the ``action``
resources, from their per-action tables. What the handlers answer is described in
:data:`SUCCESS` below; every error is one of Cinder's fault bodies (spec 1.7), one schema
per status. The test ``attachd.tests.functional.reliability.test_openapi`` fails when a
route and this document disagree.

OpenAPI 3.1 uses JSON Schema 2020-12, which takes the handlers' draft-4 schemas as they
are (``type`` lists, ``patternProperties``, ``format: uuid``).
"""

import copy
import re

from attachd.api import fault
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api.handlers import attachments
from attachd.api.handlers import volume_actions
from attachd.conf import CONF

OPENAPI_VERSION = '3.1.0'
TITLE = 'attachd: OpenStack block-storage v3 (attachments and what they need)'

_string = {'type': 'string'}
_nullable_string = {'type': ['string', 'null']}

ATTACHMENT_SUMMARY = {
    'type': 'object',
    'required': ['id', 'status', 'instance', 'volume_id'],
    'properties': {
        'id': {'type': 'string', 'format': 'uuid'},
        'status': _string,
        'instance': _nullable_string,
        'volume_id': {'type': 'string', 'format': 'uuid'},
    },
}

ATTACHMENT_DETAIL = copy.deepcopy(ATTACHMENT_SUMMARY)
ATTACHMENT_DETAIL['required'] += ['attached_at', 'detached_at', 'attach_mode',
                                  'connection_info']
ATTACHMENT_DETAIL['properties'].update({
    'attached_at': _string,
    'detached_at': _string,
    'attach_mode': {'type': 'string', 'enum': ['rw', 'ro', 'null']},
    'connection_info': {'type': 'object'},
    'shared_connections_by_attachment': {'type': 'array', 'items': _string},
})


def _object_with(*keys, **properties):
    return {'type': 'object', 'required': list(keys), 'properties': properties}


def _list_of(key, item):
    return _object_with(key, **{key: {'type': 'array', 'items': item}})


_any_object = {'type': 'object'}

FENCE = _object_with('host', 'created_at', 'attachments', host=_string, created_at=_string,
                     attachments={'type': 'array', 'items': {'type': 'string',
                                                             'format': 'uuid'}})

# What each handler answers when it succeeds: {(route, method): {status: body schema or
# None for an empty body}}.
SUCCESS = {
    ('/', 'GET'): {200: _list_of('versions', _any_object)},
    ('/attachments', 'GET'): {200: _list_of('attachments', ATTACHMENT_SUMMARY)},
    ('/attachments', 'POST'): {200: _object_with('attachment',
                                                 attachment=ATTACHMENT_DETAIL)},
    ('/attachments/detail', 'GET'): {200: _list_of('attachments', ATTACHMENT_DETAIL)},
    ('/attachments/{attachment_id}', 'GET'): {
        200: _object_with('attachment', attachment=ATTACHMENT_DETAIL)},
    ('/attachments/{attachment_id}', 'PUT'): {
        200: _object_with('attachment', attachment=ATTACHMENT_DETAIL)},
    ('/attachments/{attachment_id}', 'DELETE'): {200: _object_with(
        'attachments', attachments={'type': 'array', 'items': ATTACHMENT_SUMMARY},
        shared_connections_by_attachment={'type': 'array', 'items': _string})},
    ('/attachments/{attachment_id}/action', 'POST'): {204: None},
    ('/volumes', 'GET'): {200: _list_of('volumes', _any_object)},
    ('/volumes', 'POST'): {202: _object_with('volume', volume=_any_object)},
    ('/volumes/detail', 'GET'): {200: _list_of('volumes', _any_object)},
    ('/volumes/{volume_id}', 'GET'): {200: _object_with('volume', volume=_any_object)},
    ('/volumes/{volume_id}', 'DELETE'): {202: None},
    # os-initialize_connection answers 200 with connection_info, the others 202.
    ('/volumes/{volume_id}/action', 'POST'): {
        200: _object_with('connection_info', connection_info=_any_object), 202: None},
    ('/volumes/{volume_id}/encryption', 'GET'): {
        200: _object_with('encryption_key_id', encryption_key_id=_nullable_string)},
    ('/volumes/{volume_id}/metadata', 'GET'): {200: _object_with('metadata',
                                                                 metadata=_any_object)},
    ('/volumes/{volume_id}/metadata', 'POST'): {200: _object_with('metadata',
                                                                  metadata=_any_object)},
    ('/volumes/{volume_id}/metadata', 'PUT'): {200: _object_with('metadata',
                                                                 metadata=_any_object)},
    ('/volumes/{volume_id}/metadata/{key}', 'GET'): {200: _object_with('meta',
                                                                       meta=_any_object)},
    ('/volumes/{volume_id}/metadata/{key}', 'PUT'): {200: _object_with('meta',
                                                                       meta=_any_object)},
    ('/volumes/{volume_id}/metadata/{key}', 'DELETE'): {200: None},
    ('/limits', 'GET'): {200: _object_with('limits', limits=_object_with(
        'rate', 'absolute', rate={'type': 'array'}, absolute=_any_object))},
    ('/types', 'GET'): {200: _list_of('volume_types', _any_object)},
    ('/types', 'POST'): {200: _object_with('volume_type', volume_type=_any_object)},
    ('/types/{type_id}', 'GET'): {200: _object_with('volume_type',
                                                    volume_type=_any_object)},
    ('/types/{type_id}', 'DELETE'): {202: None},
    ('/types/{type_id}/extra_specs', 'GET'): {200: _object_with('extra_specs',
                                                                extra_specs=_any_object)},
    ('/types/{type_id}/extra_specs', 'POST'): {200: _object_with('extra_specs',
                                                                 extra_specs=_any_object)},
    ('/types/{type_id}/extra_specs/{key}', 'GET'): {200: _any_object},
    ('/types/{type_id}/extra_specs/{key}', 'PUT'): {200: _any_object},
    ('/types/{type_id}/extra_specs/{key}', 'DELETE'): {202: None},
    ('/resource_filters', 'GET'): {200: _list_of('resource_filters', _any_object)},
    ('/fences', 'GET'): {200: _list_of('fences', FENCE)},
    ('/fences', 'POST'): {200: _object_with('fence', fence=FENCE)},
    ('/fences/{host}', 'DELETE'): {204: None},
    ('/openapi.json', 'GET'): {200: _object_with('openapi', 'paths')},
    ('/extensions', 'GET'): {200: _list_of('extensions', _object_with(
        'alias', 'name', 'description', 'namespace', 'updated', 'links'))},
}

# Errors any operation may answer (the pipeline's own: auth, microversion, size limit,
# content type, unknown method, a database or manager that is down).
ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 409, 413, 415, 500, 501, 503, 504)

LIST_QUERY = ('limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir', 'all_tenants',
              'project_id')


def fault_schema(status):
    """The body of a fault answered with ``status`` (spec 1.7)."""
    name = fault.FAULT_NAMES.get(status, fault.DEFAULT_NAME)
    inner = {
        'type': 'object',
        'required': ['code', 'message'],
        'properties': {'code': {'const': status}, 'message': _string,
                       'retryAfter': _string},
        'additionalProperties': False,
    }
    return {'type': 'object', 'required': [name], 'properties': {name: inner},
            'additionalProperties': False}


def _json_content(schema):
    return {'application/json': {'schema': schema}}


def _responses(route, method):
    responses = {}
    for status, schema in sorted(SUCCESS[(route, method)].items()):
        entry = {'description': 'Success.'}
        if schema is not None:
            entry['content'] = _json_content(schema)
        responses[str(status)] = entry
    for status in ERROR_STATUSES:
        responses[str(status)] = {'description': 'Cinder fault body.',
                                  'content': _json_content(fault_schema(status))}
    return responses


def _versions(handler):
    low = getattr(handler, 'min_version', None) or microversion.MIN_VERSION
    high = getattr(handler, 'max_version', None) or microversion.MAX_VERSION
    return low, high


def _body_ranges(route, method, handler):
    """``[(min, max, schema)]`` of the request body, from the handler's decorators; the
    ``action`` resources list one schema per action."""
    if route == '/volumes/{volume_id}/action':
        return [(None, None, {'oneOf': [entry[1] for _name, entry in
                                        sorted(volume_actions._ACTIONS.items())]})]
    if route == '/attachments/{attachment_id}/action':
        return [(low, high, schema)
                for _name, action in sorted(attachments._ACTIONS.items())
                for low, high, schema in getattr(action, 'body_schemas', [])]
    return list(getattr(handler, 'body_schemas', []))


def _newest(ranges):
    """The schema of the newest range (no maximum, else the highest minimum)."""
    def key(entry):
        low, high, _schema = entry
        return (high is None, microversion.parse(high or microversion.MAX_VERSION),
                microversion.parse(low or microversion.MIN_VERSION))
    return max(ranges, key=key)[2]


def _parameters(path, route, method):
    parameters = [{
        'name': 'OpenStack-API-Version', 'in': 'header', 'required': False,
        'description': 'volume X.Y (3.0 when absent); "volume latest" is %s.'
                       % microversion.MAX_VERSION,
        'schema': {'type': 'string', 'pattern': r'^volume (latest|[1-9][0-9]*\.[0-9]+)$'},
    }]
    for name in re.findall(r'{(\w+)}', path):
        schema = {'type': 'string', 'minLength': 1}
        if name == 'project_id':
            schema['pattern'] = '^%s$' % CONF.api.project_id_regex
        parameters.append({'name': name, 'in': 'path', 'required': True,
                           'schema': schema})
    if method == 'GET' and route in ('/attachments', '/attachments/detail', '/volumes',
                                     '/volumes/detail'):
        for name in LIST_QUERY:
            parameters.append({'name': name, 'in': 'query', 'required': False,
                               'schema': _string})
    if route == '/resource_filters':
        parameters.append({'name': 'resource', 'in': 'query', 'required': False,
                           'schema': _string})
    return parameters


def _operation(path, route, method, handler, prefixed):
    low, high = _versions(handler)
    operation = {
        'operationId': '%s.%s%s' % (handler.__module__.rsplit('.', 1)[-1],
                                    handler.__name__, '_by_project' if prefixed else ''),
        'summary': (handler.__doc__ or '').strip().split('\n')[0] or handler.__name__,
        'x-openstack-microversions': {'min': low, 'max': high},
        'parameters': _parameters(path, route, method),
        'responses': _responses(route, method),
    }
    if getattr(handler, 'idempotent', False):
        operation['parameters'].append({
            'name': 'Idempotency-Key', 'in': 'header', 'required': False,
            'description': 'Replay the first answer of a retry instead of creating again '
                           '(IETF draft "The Idempotency-Key HTTP Header Field").',
            'schema': {'type': 'string', 'minLength': 1, 'maxLength': 257}})
        operation['responses']['422'] = {
            'description': 'The Idempotency-Key was used for a different request.',
            'content': _json_content(fault_schema(422))}
    ranges = _body_ranges(route, method, handler)
    if ranges:
        operation['requestBody'] = {
            'required': True,
            'content': _json_content(copy.deepcopy(_newest(ranges))),
        }
        operation['x-openstack-microversions']['bodies'] = [
            {'min': r_low or low, 'max': r_high or high, 'schema': copy.deepcopy(schema)}
            for r_low, r_high, schema in ranges]
    return operation


def documented_paths(route):
    """The URL paths (below ``/v3``) of a route: without and with the project id."""
    if route == '/':
        return ['/', '/{project_id}/']
    return [route, '/{project_id}' + route]


def generate(declarations):
    """The OpenAPI document (a dict) of the routing table ``declarations``."""
    paths = {}
    for route, methods in declarations:
        for prefixed, path in enumerate(documented_paths(route)):
            paths['/v3' + path] = {
                method.lower(): _operation(path, route, method, handler, bool(prefixed))
                for method, handler in sorted(methods.items())}
    return {
        'openapi': OPENAPI_VERSION,
        'info': {'title': TITLE, 'version': microversion.MAX_VERSION,
                 'description': 'Microversions %s to %s (OpenStack-API-Version header). '
                                'Bodies shown are those of the newest microversion; '
                                'x-openstack-microversions lists every range.'
                                % (microversion.MIN_VERSION, microversion.MAX_VERSION)},
        'paths': paths,
        'components': {'securitySchemes': {
            'token': {'type': 'apiKey', 'in': 'header', 'name': 'X-Auth-Token'}}},
        'security': [{'token': []}],
    }


def handler(declarations):
    """The handler of ``GET /v3/openapi.json`` for the routing table ``declarations``
    (the router passes its own: this module does not import it). The document is made on
    the first request, once the table is complete."""
    document = []

    @microversion.version_range(microversion.BASE)
    def show(req):
        """``GET /v3/openapi.json``: this API's OpenAPI document."""
        if not document:
            document.append(generate(declarations))
        return a_request.json_response(document[0])

    return show
