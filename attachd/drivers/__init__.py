"""Connector drivers: how a backend stores volumes and exports them to hosts.

Drivers are loaded by name from the ``attachd.connector_drivers`` entry points (stevedore).
"""

# The entry point group drivers are installed under (setup.cfg).
NAMESPACE = 'attachd.connector_drivers'
