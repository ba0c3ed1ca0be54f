"""Volume type views."""

# Extra specs a non-admin sees (Cinder's user-visible keys).
USER_VISIBLE_EXTRA_SPECS = ('multiattach', 'RESKEY:availability_zones',
                            'replication_enabled')


def created(req, volume_type):
    """The answer to ``POST /types``: Cinder's types_manage view (no ``qos_specs_id``)."""
    specs = dict(volume_type.extra_specs)
    if not req.context.is_admin:
        specs = {k: v for k, v in specs.items() if k in USER_VISIBLE_EXTRA_SPECS}
    return {
        'id': volume_type.id,
        'name': volume_type.name,
        'description': volume_type.description,
        'is_public': volume_type.is_public,
        'os-volume-type-access:is_public': volume_type.is_public,
        'extra_specs': specs,
    }


def detail(req, volume_type):
    """A type as show and list present it: ``qos_specs_id`` for admins only (Cinder's
    ``volume_extension:access_types_qos_specs_id`` default); attachd has no QoS specs."""
    view = created(req, volume_type)
    if req.context.is_admin:
        view['qos_specs_id'] = None
    return view
