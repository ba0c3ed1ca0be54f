"""``GET /limits``: Cinder's limits view, which Nova reads (``get_absolute_limits``).

attachd enforces no quotas, so every maximum is -1 (unlimited, as Cinder shows an
unlimited quota); the usage is the project's real one. attachd has no snapshots nor
backups: their usage is 0. Cinder's rate limits were removed long ago: ``rate`` is empty.
"""

from attachd import policy
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.objects import volume as volume_obj
from attachd.policies import limits as policies

UNLIMITED = -1


@microversion.version_range(microversion.BASE)
def show(req):
    ctx = req.context
    policy.authorize(ctx, policies.USED_LIMITS, {'project_id': ctx.project_id})
    volumes, gigabytes = volume_obj.VolumeList.get_usage(ctx, ctx.project_id)
    absolute = {
        'maxTotalVolumes': UNLIMITED,
        'maxTotalSnapshots': UNLIMITED,
        'maxTotalVolumeGigabytes': UNLIMITED,
        'maxTotalBackups': UNLIMITED,
        'maxTotalBackupGigabytes': UNLIMITED,
        'totalVolumesUsed': volumes,
        'totalGigabytesUsed': gigabytes,
        'totalSnapshotsUsed': 0,
        'totalBackupsUsed': 0,
        'totalBackupGigabytesUsed': 0,
    }
    return a_request.json_response({'limits': {'rate': [], 'absolute': absolute}})
