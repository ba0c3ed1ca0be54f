"""``GET /v3/{project_id}/extensions``: what attachd adds to Cinder's API.

Cinder's extensions document (the same item shape, which python-cinderclient's
``list-extensions``, openstacksdk's ``block_storage.extensions()`` and tempest read): a
client finds attachd's own headers and resources here before it uses them. Each item says
what it adds and where the API reference describes it.
"""

from attachd.api import microversion
from attachd.api import request as a_request

# One item per capability beyond Cinder's API, in Cinder's extension shape.
EXTENSIONS = [
    {
        'alias': 'attachd-idempotency-key',
        'name': 'IdempotencyKey',
        'description': 'POST /volumes and POST /attachments honour the Idempotency-Key '
                       'request header: a retry with the same key and body replays the '
                       'first answer (Idempotent-Replayed: true) and creates nothing; '
                       'the same key with another body is 422, while the first request '
                       'runs 409.',
        'namespace': 'urn:attachd:extension:idempotency-key:1',
        'updated': '2026-12-01T00:00:00Z',
        'links': [],
    },
    {
        'alias': 'attachd-fences',
        'name': 'Fences',
        'description': 'POST /v3/{project_id}/fences cuts a failed host off every volume: '
                       'the connections of its attachments are revoked at the backends, '
                       'the attachments become "fenced" (deletable, no longer holding '
                       'their volumes) and no connection is made for the host until '
                       'DELETE /v3/{project_id}/fences/{host} lifts the fence.',
        'namespace': 'urn:attachd:extension:fences:1',
        'updated': '2026-12-04T00:00:00Z',
        'links': [],
    },
]


@microversion.version_range(microversion.BASE)
def index(req):
    """``GET /extensions``: attachd's extensions of the Block Storage API."""
    return a_request.json_response({'extensions': EXTENSIONS})
