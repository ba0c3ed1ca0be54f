"""Helpers shared by views."""

from urllib import parse


def timestamp(value):
    """Cinder's (oslo jsonutils') rendering: naive UTC with microseconds, no zone."""
    if value is None:
        return None
    return value.replace(tzinfo=None).strftime('%Y-%m-%dT%H:%M:%S.%f')


def links(req, collection, resource_id):
    """The self and bookmark links of a resource."""
    base = req.application_url.rstrip('/')
    bookmark = req.application_url_without_version().rstrip('/')
    project = req.context.project_id
    return [
        {'rel': 'self', 'href': '%s/%s/%s/%s' % (base, project, collection, resource_id)},
        {'rel': 'bookmark', 'href': '%s/%s/%s/%s' % (bookmark, project, collection,
                                                     resource_id)},
    ]


def next_link(req, items, limit):
    """``[{'rel': 'next', 'href': ...}]`` when the page is full, else ``[]``: this request's
    URL and query with ``marker`` set to the page's last item."""
    if not items or len(items) < limit:
        return []
    params = [(k, v) for k, v in req.GET.items() if k not in ('marker', 'offset', 'limit')]
    params.append(('limit', str(limit)))
    params.append(('marker', items[-1]['id']))
    return [{'rel': 'next', 'href': '%s?%s' % (req.path_url, parse.urlencode(params))}]


def page(req, collection, items, limit):
    """A list body: ``{collection: items}``, plus ``<collection>_links`` with the next link
    when the page is full (Cinder never sends it; link-following clients need it)."""
    body = {collection: items}
    link = next_link(req, items, limit)
    if link:
        body['%s_links' % collection] = link
    return body
