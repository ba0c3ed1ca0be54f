"""``GET /resource_filters`` (3.33): the list filters each resource accepts."""

from attachd.api import listing
from attachd.api import microversion
from attachd.api import request as a_request


@microversion.version_range(microversion.RESOURCE_FILTERS)
def index(req):
    wanted = req.GET.get('resource')
    filters = [{'resource': name, 'filters': keys}
               for name, keys in sorted(listing.RESOURCE_FILTERS.items())
               if wanted in (None, name)]
    return a_request.json_response({'resource_filters': filters})
