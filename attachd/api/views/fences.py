"""Views of fences."""

from attachd.api.views import common


def detail(fence):
    return {
        'host': fence.host,
        'created_at': common.timestamp(fence.created_at),
        'attachments': list(fence.attachments),
    }
