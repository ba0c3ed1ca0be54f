"""attachd's HTTP API: Cinder's block-storage v3 API for attachments, volumes and types.

The request path: the paste pipeline (``etc/attachd/api-paste.ini``, built by
:mod:`attachd.api.app`) -> :mod:`attachd.api.router` -> a handler of
:mod:`attachd.api.handlers` -> policy (:mod:`attachd.policy`) and schema
(:mod:`attachd.api.validation`) -> objects -> RPC to the manager when storage is involved
(:mod:`attachd.volume`) -> a view of :mod:`attachd.api.views`.
"""
