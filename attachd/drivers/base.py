"""The interface every connector driver implements."""

import abc


def connection_key(connector):
    """What identifies a host's connection to a target: the connector's initiator name,
    else its host name; None without a connector."""
    if not connector:
        return None
    return connector.get('initiator') or connector.get('host')


class Capabilities(dict):
    """What a backend can do; keys: protocol, shared_targets, multiattach,
    free_capacity_gb, total_capacity_gb."""


class ConnectorDriver(metaclass=abc.ABCMeta):
    """A backend that stores volumes and exports them to hosts.

    The manager calls these methods; drivers raise attachd's own exceptions
    (``InvalidConnector``, ``ExportFailure``, ``ConnectionFailure``, ``DriverError``) and the
    manager turns them into clear API errors.

    :param conf: the oslo.config ``ConfigOpts``.
    :param backend: the name of the backend's configuration group; the driver reads its
        options from ``conf[backend]``.
    """

    #: Options the driver registers in its backend group (a list of oslo.config opts).
    OPTS = []

    def __init__(self, conf, backend):
        self.conf = conf
        self.backend = backend
        if self.OPTS:
            conf.register_opts(self.OPTS, group=backend)

    @property
    def options(self):
        """The driver's configuration group."""
        return self.conf[self.backend]

    def do_setup(self):
        """Prepare the backend when the manager starts (directories, daemons...)."""

    @abc.abstractmethod
    def capabilities(self):
        """Return a :class:`Capabilities` of the backend."""

    @abc.abstractmethod
    def create_volume(self, volume):
        """Create the storage of ``volume`` (size in GiB); return a dict of volume fields to
        save (e.g. ``provider_location``), or None."""

    @abc.abstractmethod
    def delete_volume(self, volume):
        """Delete the storage of ``volume``; deleting a missing volume is not an error."""

    def wipe_volume(self, volume):
        """Discard the data of ``volume`` so that it reads as zeros (os-reimage: attachd
        has no image service to copy an image from). Return a dict of volume fields to
        save, or None.

        Default: delete the storage and create it again, which also drops its export; the
        volume is ``downloading`` then, held by at most a reservation, so no host uses it.
        Drivers that can wipe in place override it.
        """
        self.delete_volume(volume)
        return self.create_volume(volume)

    def validate_connector(self, connector):
        """Raise ``InvalidConnector`` when ``connector`` lacks what this driver needs."""

    @abc.abstractmethod
    def create_export(self, volume, connector):
        """Make ``volume`` exportable to the host of ``connector``; return a dict of volume
        fields to save (``provider_location``, ``provider_auth``), or None. Idempotent."""

    @abc.abstractmethod
    def initialize_connection(self, volume, connector, attachment_id):
        """Grant the host of ``connector`` access; return ``{'driver_volume_type': ...,
        'data': {...}}`` as os-brick expects. Idempotent for the same connector."""

    @abc.abstractmethod
    def terminate_connection(self, volume, connector, remaining_connectors):
        """Revoke the host's access unless another live attachment still uses it.

        :param remaining_connectors: the connectors of the volume's other live, connected
            attachments.
        :returns: True when other attachments still share the host connection (access was
            kept), False when it was revoked.
        """

    def fence_connection(self, volume, connector, remaining_connectors):
        """Cut the host of ``connector`` off ``volume`` at once (fencing a failed host):
        revoke its access as :meth:`terminate_connection` does, even when the host's
        other attachments share the connection, and end the sessions it has open, so
        that it can neither log in again nor keep using one.

        :param remaining_connectors: the connectors of the volume's attachments on other
            hosts, which keep their access.

        Default: :meth:`terminate_connection`, for backends where revoking the access
        ends its use too. Drivers whose sessions outlive the access override it.
        """
        self.terminate_connection(volume, connector, remaining_connectors)

    @abc.abstractmethod
    def remove_export(self, volume):
        """Remove the export of ``volume`` (called when no connection is left)."""

    def ensure_export(self, volume, connectors):
        """Re-create the export of an attached ``volume`` and the access of ``connectors``
        (at manager start, after the backend lost its state). Default: export and connect
        again."""
        for connector in connectors:
            self.create_export(volume, connector)
            self.initialize_connection(volume, connector, None)

    def list_exports(self):
        """Return the ids of volumes the backend currently exports, to find exports no live
        attachment owns. Drivers without export state return an empty list."""
        return []

    def exports_lost(self):
        """True when the backend lost exports since they were made (a target daemon that
        restarted): the manager then re-creates them from the database. Backends that keep
        their exports return False."""
        return False

    def shares_connection(self, connector_a, connector_b):
        """True when two attachments with these connectors use one host connection to this
        backend's target (same initiator / host)."""
        key_a = connection_key(connector_a)
        return key_a is not None and key_a == connection_key(connector_b)
