"""attachd's field types."""

import uuid
import warnings

from attachd.objects import fields
from attachd.tests import base


class UUIDFieldTest(base.TestCase):
    def setUp(self):
        super().setUp()
        self.field = fields.UUIDField(nullable=True)

    def _coerce(self, value):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            result = self.field.coerce(None, 'id', value)
        return result, [w.category for w in caught]

    def test_canonical_uuid_is_kept_without_warning(self):
        value = str(uuid.uuid4())
        self.assertEqual((value, []), self._coerce(value))
        self.assertEqual((value.upper(), []), self._coerce(value.upper()))

    def test_other_values_take_the_library_path(self):
        # oslo.versionedobjects accepts them with a FutureWarning; so does attachd.
        self.assertEqual(('not-a-uuid', [FutureWarning]), self._coerce('not-a-uuid'))
        value = str(uuid.uuid4())
        self.assertEqual((value + '\n', [FutureWarning]), self._coerce(value + '\n'))
        # Without dashes it is a UUID for the library: no warning, kept as given.
        self.assertEqual((value.replace('-', ''), []), self._coerce(value.replace('-', '')))
        self.assertEqual((value, []), self._coerce(uuid.UUID(value)))

    def test_none_is_allowed_when_nullable(self):
        self.assertEqual((None, []), self._coerce(None))
