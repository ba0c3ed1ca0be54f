"""The versions document (Cinder's ``cinder/api/views/versions.py`` shape)."""

from attachd.api import microversion

UPDATED = '2023-08-31T00:00:00Z'


def versions(base_url):
    return {'versions': [{
        'id': 'v3.0',
        'status': 'CURRENT',
        'version': microversion.MAX_VERSION,
        'min_version': microversion.MIN_VERSION,
        'updated': UPDATED,
        'links': [
            {'rel': 'describedby', 'type': 'text/html',
             'href': 'https://docs.openstack.org/'},
            {'rel': 'self', 'href': base_url + '/v3/'},
        ],
        'media-types': [
            {'base': 'application/json',
             'type': 'application/vnd.openstack.volume+json;version=3'},
        ],
    }]}
