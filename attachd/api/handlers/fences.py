"""The fences resource (attachd's own, in every microversion): cut a failed host off every
volume (``POST``), list fenced hosts, lift a fence (``DELETE``). See
:mod:`attachd.volume.fencing`."""

from attachd import policy
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import validation
from attachd.api.schemas import fences as schemas
from attachd.api.views import fences as views
from attachd.policies import fences as policies
from attachd.volume import fencing


def _authorize(ctx, action):
    policy.authorize(ctx, action, {'project_id': ctx.project_id})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.create)
def create(req):
    """``POST /fences``: fence the host (again) and answer the standing fence, 200."""
    ctx = req.context
    _authorize(ctx, policies.CREATE)
    fence = fencing.fence(ctx, req.json['fence']['host'])
    return a_request.json_response({'fence': views.detail(fence)})


@microversion.version_range(microversion.BASE)
def index(req):
    """``GET /fences``: every fenced host, oldest fence first."""
    ctx = req.context
    _authorize(ctx, policies.INDEX)
    return a_request.json_response(
        {'fences': [views.detail(fence) for fence in fencing.list_fences(ctx)]})


@microversion.version_range(microversion.BASE)
def delete(req, host):
    """``DELETE /fences/{host}``: lift the fence, 204."""
    ctx = req.context
    _authorize(ctx, policies.DELETE)
    fencing.unfence(ctx, host)
    return a_request.json_response(None, status=204)
