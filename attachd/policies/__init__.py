"""attachd's policy rules in code, one module per resource (oslo.policy generator entry
point ``attachd.policies:list_rules``)."""

import itertools

from attachd.policies import attachments
from attachd.policies import base
from attachd.policies import fences
from attachd.policies import limits
from attachd.policies import types
from attachd.policies import volume_actions
from attachd.policies import volume_metadata
from attachd.policies import volumes


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        attachments.list_rules(),
        volumes.list_rules(),
        volume_actions.list_rules(),
        volume_metadata.list_rules(),
        types.list_rules(),
        limits.list_rules(),
        fences.list_rules(),
    ))
