"""The request context: who is calling, for which project, with which roles."""

import copy
import sys

from oslo_config import cfg
from oslo_context import context as o_context
from oslo_db.sqlalchemy import enginefacade

from attachd.conf import CONF

# KEYSTONEMIDDLEWARE'S OPTION UNDER NOAUTH: the same option (name, type and default), so
# that ``[keystone_authtoken] service_token_roles`` means under noauth what it means with
# Keystone, without importing keystonemiddleware.auth_token: 13.8 MB and 232 modules
# (keystoneclient, oauthlib, osprofiler, dogpile) in each API worker and in attachd-all,
# measured after the application was loaded, for a library that validates no token there.
_NOAUTH_SERVICE_TOKEN_ROLES = cfg.ListOpt(
    'service_token_roles', default=['service'],
    help='Roles of a service token (X-Service-Token) that make its caller a service. Under '
         'auth_strategy = noauth attachd registers this copy of keystonemiddleware\'s '
         'option; with keystone, keystonemiddleware\'s own applies.')
_KSM_MODULE = 'keystonemiddleware.auth_token'
_service_token_roles_registered = False


def service_token_roles():
    """``[keystone_authtoken] service_token_roles``: keystonemiddleware's option, read under
    noauth too (attachd.api.middleware.NoAuth), so that Cinder's configuration of service
    roles works unchanged.

    Registered on first use: keystonemiddleware's own when the API authenticates with
    Keystone (or keystonemiddleware is loaded already); under noauth, an equal option of
    attachd's (:data:`_NOAUTH_SERVICE_TOKEN_ROLES`). A manager never judges a caller and
    registers neither.
    """
    global _service_token_roles_registered
    if not _service_token_roles_registered:
        if CONF.api.auth_strategy == 'keystone' or _KSM_MODULE in sys.modules:
            CONF.import_group('keystone_authtoken', _KSM_MODULE)
        else:
            CONF.register_opt(_NOAUTH_SERVICE_TOKEN_ROLES, group='keystone_authtoken')
        _service_token_roles_registered = True
    return CONF.keystone_authtoken.service_token_roles


@enginefacade.transaction_context_provider
class RequestContext(o_context.RequestContext):
    """oslo.context's context plus attachd's view of admin and service callers.

    It also carries the database transaction (oslo.db enginefacade), so DB API functions
    called inside another one's transaction join it.
    """

    def __init__(self, is_admin=None, **kwargs):
        super().__init__(**kwargs)
        if is_admin is None:
            is_admin = 'admin' in (r.lower() for r in self.roles)
        self.is_admin = is_admin

    @property
    def is_service(self):
        """True when the request carries a service token (Nova's, sent with the user's
        token) with a role of ``[keystone_authtoken] service_token_roles``.

        Only the service token's roles count, as in Cinder (OSSA-2023-003): a user whose
        own token has the ``service`` role, or a service's token sent alone as the user
        token, is not a service caller.
        """
        wanted = {r.lower() for r in service_token_roles()}
        return any(r.lower() in wanted for r in self.service_roles or ())

    def elevated(self):
        """A copy of this context with admin rights, for internal lookups."""
        ctx = copy.copy(self)
        ctx.roles = list(self.roles)
        if 'admin' not in ctx.roles:
            ctx.roles.append('admin')
        ctx.is_admin = True
        return ctx

    def to_dict(self):
        values = super().to_dict()
        values['is_admin'] = self.is_admin
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        kwargs.setdefault('is_admin', values.get('is_admin'))
        return super().from_dict(values, **kwargs)

    def to_policy_values(self):
        values = super().to_policy_values()
        values['is_admin'] = self.is_admin
        return values


def get_admin_context():
    """A context for attachd's own work (manager start-up, periodic tasks)."""
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          roles=['admin'], overwrite=False)
