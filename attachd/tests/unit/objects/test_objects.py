"""Object versions: a field change without a version bump fails here."""

from oslo_versionedobjects import fixture

from attachd.objects import base
from attachd.tests import base as test_base

# When a test below fails, bump the object's VERSION, describe the change in its version
# history comment, make obj_make_compatible handle older versions, and update the hash here.
object_data = {
    'Fence': '1.0-ab701bfbcb996c9486a57c0bf2de4c5c',
    'FenceList': '1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e',
    'IdempotencyKey': '1.0-cf4dcb8869e938833a129c1fe6f2f2da',
    'Service': '1.1-8617978614bf76c6c63c87021ca93fcf',
    'ServiceList': '1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e',
    'Volume': '1.2-d4ea08be941d73744be31193129bf641',
    'VolumeAttachment': '1.1-b92df8587471bbb31acff2899d5c2569',
    'VolumeAttachmentList': '1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e',
    'VolumeList': '1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e',
    'VolumeType': '1.0-86fc3e571400a963fc978cd649c90890',
    'VolumeTypeList': '1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e',
}


class ObjectVersionTest(test_base.TestCase):
    def test_versions(self):
        checker = fixture.ObjectVersionChecker(
            base.AttachdObjectRegistry.obj_classes())
        expected, actual = checker.test_hashes(object_data)
        self.assertEqual(expected, actual,
                         'Objects changed; see the comment above object_data.')

    def test_relationships_are_registered(self):
        for name, classes in base.AttachdObjectRegistry.obj_classes().items():
            self.assertEqual(1, len(classes), name)
