"""The routing table: every path and method of the v3 API and the handler serving it.

Each path exists twice, as in Cinder: ``/v3/<path>`` and ``/v3/{project_id}/<path>``. A
project id in the URL must be the caller's own (else 400 "Malformed request url").
"""

import routes

from attachd import exception
from attachd.api import openapi
from attachd.api import request as a_request
from attachd.api.handlers import attachments
from attachd.api.handlers import extensions
from attachd.api.handlers import fences
from attachd.api.handlers import limits
from attachd.api.handlers import resource_filters
from attachd.api.handlers import types
from attachd.api.handlers import versions
from attachd.api.handlers import volume_actions
from attachd.api.handlers import volume_metadata
from attachd.api.handlers import volumes
from attachd.conf import CONF
from attachd.i18n import _

# Order matters where a literal segment competes with an id (``detail``).
ROUTE_DECLARATIONS = [
    ('/', {'GET': versions.show_v3}),
    ('/attachments', {'GET': attachments.index, 'POST': attachments.create}),
    ('/attachments/detail', {'GET': attachments.detail}),
    ('/attachments/{attachment_id}', {'GET': attachments.show,
                                      'PUT': attachments.update,
                                      'DELETE': attachments.delete}),
    ('/attachments/{attachment_id}/action', {'POST': attachments.action}),
    ('/volumes', {'GET': volumes.index, 'POST': volumes.create}),
    ('/volumes/detail', {'GET': volumes.detail}),
    ('/volumes/{volume_id}', {'GET': volumes.show, 'DELETE': volumes.delete}),
    ('/volumes/{volume_id}/action', {'POST': volume_actions.action}),
    ('/volumes/{volume_id}/encryption', {'GET': volumes.show_encryption}),
    ('/volumes/{volume_id}/metadata', {'GET': volume_metadata.index,
                                       'POST': volume_metadata.create,
                                       'PUT': volume_metadata.update_all}),
    ('/volumes/{volume_id}/metadata/{key}', {'GET': volume_metadata.show,
                                             'PUT': volume_metadata.update,
                                             'DELETE': volume_metadata.delete}),
    ('/types', {'GET': types.index, 'POST': types.create}),
    ('/types/{type_id}', {'GET': types.show, 'DELETE': types.delete}),
    ('/types/{type_id}/extra_specs', {'GET': types.list_extra_specs,
                                      'POST': types.set_extra_specs}),
    ('/types/{type_id}/extra_specs/{key}', {'GET': types.show_extra_spec,
                                            'PUT': types.update_extra_spec,
                                            'DELETE': types.delete_extra_spec}),
    ('/resource_filters', {'GET': resource_filters.index}),
    ('/limits', {'GET': limits.show}),
    ('/extensions', {'GET': extensions.index}),
    ('/fences', {'GET': fences.index, 'POST': fences.create}),
    ('/fences/{host}', {'DELETE': fences.delete}),
]
ROUTE_DECLARATIONS.append(('/openapi.json', {'GET': openapi.handler(ROUTE_DECLARATIONS)}))


def make_mapper(declarations=ROUTE_DECLARATIONS):
    """A routes mapper whose matches name the declaration (``route``) they come from."""
    mapper = routes.Mapper(explicit=True)
    project = {'project_id': CONF.api.project_id_regex}
    for path, _methods in declarations:
        mapper.connect(path, route=path)
        prefixed = '/{project_id}' + (path if path != '/' else '')
        mapper.connect(prefixed, route=path, requirements=project)
        if path == '/':
            mapper.connect('/{project_id}/', route=path, requirements=project)
    return mapper


class Router:
    """Dispatches a request to its handler: 404 for unknown paths, 405 for other methods.

    Errors propagate as exceptions to the fault wrapper, which renders them.
    """

    def __init__(self, declarations=ROUTE_DECLARATIONS):
        self.mapper = make_mapper(declarations)
        self.methods = dict(declarations)

    def __call__(self, environ, start_response):
        req = a_request.Request(environ)
        return self.dispatch(req)(environ, start_response)

    def dispatch(self, req):
        try:
            path = req.path_info or '/'
            query = list(req.GET.items())
        except UnicodeDecodeError:
            raise exception.MalformedRequest(reason=_('Malformed request url'))
        if '\x00' in path or any('\x00' in key + value for key, value in query):
            # PostgreSQL cannot compare text with NUL: refuse it before any query.
            raise exception.MalformedRequest(reason=_('Malformed request url'))
        match = self.mapper.match(path)
        if match is None:
            raise self._not_found(path)
        methods = self.methods[match.pop('route')]
        handler = methods.get(req.method)
        if handler is None:
            allow = ', '.join(sorted(methods))
            raise exception.MethodNotAllowed(method=req.method, allowed=allow)
        project_id = match.pop('project_id', None)
        if project_id is not None and project_id != req.context.project_id:
            # Cinder's status and words, then why: even an admin must name the project
            # of its own token (or leave the project out of the URL).
            raise exception.MalformedRequest(reason=_(
                'Malformed request url: the project id %(url)s in the URL is not the '
                'project of the token (%(token)s). Use the token\'s project id, or leave '
                'the project id out of the URL.') % {'url': project_id,
                                                     'token': req.context.project_id})
        return handler(req, **match)

    def _not_found(self, path):
        """The 404 of an unknown path; when it is a known path behind a first segment that
        is not a project id, the message says so."""
        segment, _sep, rest = path.lstrip('/').partition('/')
        if rest and self.mapper.match('/' + rest) is not None:
            return exception.ResourceNotFound(message=_(
                '%(generic)s %(segment)s is not a project id: a project id in the URL '
                'must match [api] project_id_regex %(regex)s (Keystone makes hexadecimal '
                'ids) and be the project of the token.') % {
                    'generic': exception.ResourceNotFound.msg_fmt, 'segment': segment,
                    'regex': CONF.api.project_id_regex})
        return exception.ResourceNotFound()

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()
