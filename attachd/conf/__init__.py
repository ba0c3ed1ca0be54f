"""attachd's configuration: one module per option group, all registered on ``CONF`` here.

``attachd.conf.opts`` lists the same modules for oslo-config-generator.
"""

from oslo_config import cfg

from attachd.conf import api
from attachd.conf import attachments
from attachd.conf import backend
from attachd.conf import coordination
from attachd.conf import database
from attachd.conf import default
from attachd.conf import manager
from attachd.conf import messaging
from attachd.conf import nova

CONF = cfg.CONF

default.register_opts(CONF)
api.register_opts(CONF)
attachments.register_opts(CONF)
database.register_opts(CONF)
manager.register_opts(CONF)
backend.register_opts(CONF)
coordination.register_opts(CONF)
messaging.register_opts(CONF)
nova.register_opts(CONF)
