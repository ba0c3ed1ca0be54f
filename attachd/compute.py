"""Asking Nova whether a server still uses an attachment (Cinder's check of bug 2004555).

Nova's ``GET /servers/{server}/os-volume_attachments/{volume}`` at compute microversion
2.89 names the attachment id it holds for the volume. The call goes with the caller's own
token, so a user only learns about servers Nova lets them see. keystoneauth1 alone makes
the call (an ``Adapter`` on a session loaded from ``[nova]``): python-novaclient, which
Cinder uses, would add a client library and its dependencies for this one request.
"""

import threading

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

from attachd import exception
from attachd.conf import CONF
from attachd.conf import nova as nova_conf

LOG = logging.getLogger(__name__)

# The [nova] options that come from keystoneauth1 (attachd.conf.nova).
nova_conf.register_client_opts(CONF)

# The first compute microversion whose volume attachments carry attachment_id.
MICROVERSION = '2.89'

_adapter = None
_adapter_lock = threading.Lock()


def configured():
    """True when ``[nova]`` says how to reach Nova (credentials for the catalog, directly
    or in an ``auth_section``, or an endpoint)."""
    return bool(CONF.nova.auth_type or CONF.nova.auth_section or CONF.nova.endpoint_override)


def _nova():
    """The process's adapter for the Compute API (created on first use)."""
    global _adapter
    with _adapter_lock:
        if _adapter is None:
            # The [nova] credentials only find Nova's endpoint in the catalog (their
            # token is cached by the plugin); each call carries the caller's token.
            auth = ks_loading.load_auth_from_conf_options(CONF, 'nova')
            session = ks_loading.load_session_from_conf_options(CONF, 'nova', auth=auth)
            _adapter = adapter.Adapter(
                session, service_type='compute', interface=CONF.nova.interface,
                region_name=CONF.nova.region_name,
                endpoint_override=CONF.nova.endpoint_override)
        return _adapter


def reset():
    """Forget the adapter (tests change ``[nova]`` between cases)."""
    global _adapter
    with _adapter_lock:
        _adapter = None


def server_attachment_id(context, server_id, volume_id):
    """The attachment id Nova holds for ``volume_id`` on ``server_id``, or None when Nova
    knows no such server or no such volume on it (404).

    :raises NovaUnavailable: Nova could not be reached, failed (5xx) or gave no id.
    :raises ConflictNovaUsingAttachment: any other answer (the caller's token refused,
        ...): without Nova's word that the server stopped using the volume, it still does.
    """
    path = '/servers/%s/os-volume_attachments/%s' % (server_id, volume_id)
    try:
        response = _nova().get(path, headers={'X-Auth-Token': context.auth_token},
                               authenticated=False, microversion=MICROVERSION,
                               raise_exc=False, global_request_id=context.global_id)
    except ks_exc.ClientException as exc:
        LOG.warning('Cannot ask Nova about server %s: %s', server_id, exc)
        raise exception.NovaUnavailable(instance_id=server_id, reason=exc)
    status = response.status_code
    if status == 404:
        return None
    if status >= 500:
        LOG.warning('Nova answered %s about server %s', status, server_id)
        raise exception.NovaUnavailable(instance_id=server_id, reason='HTTP %s' % status)
    if status != 200:
        LOG.warning('Nova answered %s about server %s; the attachment stays', status,
                    server_id)
        raise exception.ConflictNovaUsingAttachment(instance_id=server_id)
    try:
        return response.json()['volumeAttachment']['attachment_id']
    except (ValueError, KeyError, TypeError) as exc:
        LOG.warning('Nova\'s answer about server %s has no attachment id: %r', server_id, exc)
        raise exception.NovaUnavailable(instance_id=server_id,
                                        reason='its answer has no attachment_id')
