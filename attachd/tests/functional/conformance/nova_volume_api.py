"""Nova's own block-storage client, ``nova.volume.cinder.API``, in a process of its own.

Nova and attachd both keep their options on oslo.config's global ``cfg.CONF`` and register
options of the same names (``[api] max_limit``...), so Nova's code cannot be imported into
a test process that has imported attachd. It runs here instead, as Nova runs: a separate
process, configured by a ``nova.conf`` of its own (``[cinder]`` pointing at the attachd
under test, ``[service_user]`` sending a service token), with Nova's code unchanged.

This file must not import attachd. It is run as a script::

    python nova_volume_api.py <nova.conf>

and reads one JSON request a line on stdin::

    {"user": "u", "project": "p", "method": "attachment_create", "args": [...],
     "kwargs": {...}}

The user's token is noauth's ``u:p`` unless the request names one (``"token"``, with the
user's ``"catalog"`` in the v2 form keystonemiddleware hands Nova's API); ``"admin": true``
runs the call in Nova's admin context without a token, which authenticates with
``[cinder]``'s own credentials.

answering one JSON line on stdout: ``{"result": ...}``, or ``{"error": "<module>.<class>",
"message": "..."}`` for an exception (Nova's translated ones, e.g.
``nova.exception.VolumeNotFound``). The caller's side is :class:`NovaVolumeAPI` in
:mod:`attachd.tests.functional.conformance.test_nova`.
"""

import json
import sys


def main(config_file):
    from nova import context as nova_context
    import nova.conf
    from nova.volume import cinder
    from oslo_serialization import jsonutils

    nova.conf.CONF(['--config-file', config_file], project='nova')
    api = cinder.API()
    for line in sys.stdin:
        request = json.loads(line)
        # Nova adds its service token to the user's.
        if request.get('admin'):
            ctx = nova_context.get_admin_context()
        else:
            ctx = nova_context.RequestContext(
                user_id=request['user'], project_id=request['project'],
                auth_token=request.get('token', '%s:%s' % (request['user'],
                                                           request['project'])),
                service_catalog=request.get('catalog'),
                roles=['member', 'reader'], is_admin=False)
        try:
            result = getattr(api, request['method'])(ctx, *request.get('args', ()),
                                                      **request.get('kwargs', {}))
            answer = {'result': jsonutils.to_primitive(result, convert_instances=True)}
        except Exception as exc:
            answer = {'error': '%s.%s' % (type(exc).__module__, type(exc).__name__),
                      'message': str(exc)}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv[1])
