"""Translation helpers (oslo.i18n)."""

import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain='attachd')

_ = _translators.primary
