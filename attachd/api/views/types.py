"""Volume type views."""

# Extra specs a non-admin sees (Cinder's user-visible keys).
USER_VISIBLE_EXTRA_SPECS = ('multiattach', 'RESKEY:availability_zones',
                            'replication_enabled')


def detail(req, volume_type):
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
        'qos_specs_id': None,
    }
