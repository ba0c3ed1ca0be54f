"""attachd's versioned objects (oslo.versionedobjects)."""


def register_all():
    """Import every object module so each class registers itself."""
    __import__('attachd.objects.volume_type')
    __import__('attachd.objects.volume')
    __import__('attachd.objects.volume_attachment')
    __import__('attachd.objects.service')
    __import__('attachd.objects.idempotency_key')
    __import__('attachd.objects.fence')
