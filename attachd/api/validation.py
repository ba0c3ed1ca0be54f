"""JSON-schema validation of request bodies, per microversion range."""

import functools

import jsonschema
from oslo_utils import uuidutils

from attachd import exception
from attachd.api import microversion
from attachd.i18n import _

_FORMAT_CHECKER = jsonschema.FormatChecker()


@_FORMAT_CHECKER.checks('uuid')
def _is_uuid(value):
    # oslo's is_uuid_like, as Cinder: case-insensitive, hyphens optional.
    return not isinstance(value, str) or uuidutils.is_uuid_like(value)


def _describe(error):
    path = '/'.join(str(p) for p in error.path)
    if error.validator == 'additionalProperties':
        return _('Additional properties are not allowed: %s') % error.message
    if error.validator == 'required':
        return error.message
    if path:
        return (_('Invalid input for field/attribute %(path)s. Value: %(value)s. %(msg)s')
                % {'path': path, 'value': error.instance, 'msg': error.message})
    return error.message


# One validator per schema (keyed by the schema's id; the schema is kept with it so the
# id stays its own): building a Draft4Validator costs more than most validations.
_VALIDATORS = {}


def _validator(body_schema):
    try:
        return _VALIDATORS[id(body_schema)][1]
    except KeyError:
        validator = jsonschema.Draft4Validator(body_schema, format_checker=_FORMAT_CHECKER)
        _VALIDATORS[id(body_schema)] = (body_schema, validator)
        return validator


def validate(body_schema, body):
    """Raise ValidationError (400) when ``body`` does not match ``body_schema``."""
    error = jsonschema.exceptions.best_match(_validator(body_schema).iter_errors(body))
    if error is not None:
        raise exception.ValidationError(detail=_describe(error))


def schema(body_schema, min_version=None, max_version=None):
    """Validate the request body against ``body_schema`` when the request's version is in
    [min_version, max_version]; stack one decorator per range."""
    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(req, *args, **kwargs):
            if min_version is None or microversion.matches(req, min_version, max_version):
                validate(body_schema, req.json)
            return handler(req, *args, **kwargs)
        # For the OpenAPI document (attachd.api.openapi): every range's schema, outermost
        # decorator first.
        wrapper.body_schemas = ([(min_version, max_version, body_schema)] +
                                list(getattr(handler, 'body_schemas', [])))
        return wrapper
    return decorator
