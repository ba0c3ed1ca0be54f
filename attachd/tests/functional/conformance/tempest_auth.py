"""A tempest.lib auth provider for attachd's ``noauth`` strategy.

tempest.lib's service clients take an :class:`tempest.lib.auth.AuthProvider`, which
decorates each request with a token and builds its URL from a base URL. tempest.lib itself
only ships Keystone providers (v2, v3), which ask Keystone for a token and read the volume
endpoint from its catalog; under ``noauth`` there is no Keystone. This provider is a small
real subclass of tempest.lib's base class: the token is attachd's ``user:project`` and the
base URL is the volume endpoint of the running server with the project's id, as a Keystone
catalog would give it. The clients, their request building and their response validation are
tempest.lib's own, unchanged.
"""

from tempest.lib import auth


def credentials(user, project_id):
    """tempest.lib credentials naming a noauth user and project (the password is unused)."""
    return auth.KeystoneV3Credentials(user_id=user, username=user, password='noauth',
                                      project_id=project_id)


class NoAuthProvider(auth.AuthProvider):
    """Tokens ``user:project`` and the base URL ``<endpoint>/v3/<project id>``.

    :param credentials: from :func:`credentials`.
    :param endpoint: the server's URL, without ``/v3``.
    :param headers: extra headers sent with every request (e.g. Nova's service roles).
    """

    def __init__(self, credentials, endpoint, headers=None):
        self.endpoint = endpoint.rstrip('/')
        self.headers = dict(headers or {})
        super().__init__(credentials)

    def _get_auth(self):
        token = '%s:%s' % (self.credentials.user_id, self.credentials.project_id)
        return token, {}

    def _fill_credentials(self, auth_data_body):
        """Nothing to learn: the credentials are what the caller gave."""

    def get_token(self):
        """The noauth token (what RestClient.token reads)."""
        return self.get_auth()[0]

    def is_expired(self, auth_data):
        return False

    def base_url(self, filters, auth_data=None):
        return auth.apply_url_filters(
            '%s/v3/%s' % (self.endpoint, self.credentials.project_id), filters or {})

    def _decorate_request(self, filters, method, url, headers=None, body=None,
                          auth_data=None):
        token, _ = auth_data if auth_data is not None else self.get_auth()
        decorated = dict(headers or {}, **self.headers)
        decorated['X-Auth-Token'] = token
        base = self.base_url(filters, auth_data)
        return ('%s/%s' % (base, url.lstrip('/')) if url else base), decorated, body
