"""The versions documents that python-cinderclient, openstacksdk and Nova discover."""

from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api.views import versions as versions_view
from attachd.conf import CONF


def _base_url(req):
    return (CONF.api.public_endpoint or req.application_url_without_version()).rstrip('/')


def show_all(req):
    """``GET /``: 300 Multiple Choices, as Cinder."""
    return a_request.json_response(versions_view.versions(_base_url(req)), status=300)


@microversion.version_range(microversion.BASE)
def show_v3(req):
    """``GET /v3/``: the same document, 200."""
    return a_request.json_response(versions_view.versions(_base_url(req)))
