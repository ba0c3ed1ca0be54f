"""Run Ironic's ``ironic.common.cinder.attach_volumes`` / ``detach_volumes`` against a
block-storage endpoint, in a Python process of its own; used by test_ironic.

Usage: ``python ironic_volumes.py`` with a JSON request on stdin::

    {"action": "attach" | "detach", "endpoint": ".../v3/<project>",
     "user_token": "user:project", "service_token": "ironic:project",
     "node": {"uuid": ..., "instance_uuid": ...}, "volumes": [...], "connector": {...}}

With ``"config"`` (the text of an ``ironic.conf``) instead of ``endpoint`` and
``service_token``, Ironic runs with that configuration (its ``[cinder]`` credentials find
the endpoint in Keystone's catalog); ``user_id`` and ``project_id`` then name the owner of
``user_token``.

It prints ``{"result": <attach_volumes' list or null>}``, or ``{"error": <message>}`` for
Ironic's StorageError, as JSON on stdout.

Why a separate process: Ironic and attachd both register their options on oslo.config's
global ``cfg.CONF`` and both have an ``[api] max_limit`` option, so Ironic cannot be
imported into the test process (DuplicateOptError). Ironic's conductor is a process of its
own in a deployment anyway.

Ironic is configured as an operator would: ``[cinder]`` with keystoneauth's
``admin_token`` plugin (the service token), ``endpoint_override`` for the block-storage
URL. The task is the smallest object ``ironic.common.cinder`` reads, ``task.context`` (an
Ironic RequestContext carrying the user's token, as the API's request would) and
``task.node`` (an Ironic Node object, not saved): Ironic's TaskManager cannot be used
because it locks the node's row in Ironic's own database, which does not exist here.

This file imports nothing of attachd.
"""

import json
import os
import sys
import tempfile
import types


def main():
    request = json.load(sys.stdin)
    from ironic import objects
    from ironic.common import cinder
    from ironic.common import context
    from ironic.common import exception
    from ironic.conf import CONF

    config = request.get('config') or (
        '[cinder]\n'
        'auth_type = admin_token\n'
        'endpoint = %(endpoint)s\n'
        'token = %(token)s\n'
        'endpoint_override = %(endpoint)s\n'
        'timeout = 30\n'
        % {'endpoint': request['endpoint'], 'token': request['service_token']})
    with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as conf:
        conf.write(config)
    try:
        CONF(['--config-file', conf.name], project='ironic')
    finally:
        os.unlink(conf.name)
    objects.register_all()
    if 'user_id' in request:
        user, project = request['user_id'], request['project_id']
    else:
        user, project = request['user_token'].split(':', 1)
    ctx = context.RequestContext(auth_token=request['user_token'], user_id=user,
                                 project_id=project)
    node = objects.Node(ctx, uuid=request['node']['uuid'],
                        instance_uuid=request['node'].get('instance_uuid'))
    task = types.SimpleNamespace(context=ctx, node=node)
    try:
        if request['action'] == 'attach':
            result = cinder.attach_volumes(task, request['volumes'], request['connector'])
        else:
            result = cinder.detach_volumes(task, request['volumes'], request['connector'])
    except exception.StorageError as e:
        json.dump({'error': str(e)}, sys.stdout)
        return
    json.dump({'result': result}, sys.stdout)


if __name__ == '__main__':
    main()
