"""The database API: every read and write of attachd's tables goes through these functions.

Each public function is one transaction (oslo.db enginefacade), joined to the caller's
transaction when the same context already has one open. Status changes are compare-and-swap:
an ``UPDATE ... WHERE`` that names the values the row must still have, whose row count says
whether it won (:func:`conditional_update`). The status of a volume that depends on its
attachments is recomputed from the live attachment rows, under the volume's row lock, in the
same transaction that changed an attachment (:func:`_recompute_volume_status`), so it can
never drift from them.
"""

import contextlib
import os
import threading
import time
import weakref

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import utils as sqlalchemyutils
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import pool as sa_pool

from attachd import exception
from attachd import statuses
from attachd.conf import CONF
from attachd.db import models
from attachd.i18n import _

LOG = logging.getLogger(__name__)

main_context_manager = enginefacade.transaction_context()
_configure_lock = threading.Lock()
_configured = False

VolumeStatus = statuses.VolumeStatus
AttachStatus = statuses.VolumeAttachStatus

# Sort keys callers may use on attachment lists (columns of volume_attachment).
ATTACHMENT_SORT_KEYS = ('id', 'volume_id', 'instance_uuid', 'attach_status', 'attach_mode',
                        'attached_host', 'mountpoint', 'attach_time', 'detach_time',
                        'created_at', 'updated_at')
VOLUME_SORT_KEYS = ('id', 'name', 'size', 'status', 'created_at', 'updated_at',
                    'availability_zone', 'volume_type_id', 'bootable', 'project_id')
# Filter names of attachment lists that are not the column's name.
ATTACHMENT_FILTER_ALIASES = {'status': 'attach_status', 'instance_id': 'instance_uuid'}


def text_columns(model, names, aliases=None):
    """Those of ``names`` (columns, or aliases of them) that hold text: the keys a
    ``key~`` (LIKE) filter may use."""
    aliases = aliases or {}
    return tuple(name for name in names
                 if isinstance(model.__table__.c[aliases.get(name, name)].type, sa.String))


def _filter_clause(model, key, value, aliases=None):
    """The condition of one list filter: ``key~`` matches rows whose column contains
    ``value`` (LIKE, Cinder's 3.34 filters; ``%`` and ``_`` in the value match themselves),
    any other key is an exact match, or IN for a list."""
    like = key.endswith('~')
    name = key[:-1] if like else key
    column = getattr(model, (aliases or {}).get(name, name))
    if like:
        return column.contains(value, autoescape=True)
    if isinstance(value, (list, tuple)):
        return column.in_(value)
    return column == value


def configure():
    """Point the engine facade at ``[database] connection`` (once per process)."""
    global _configured
    with _configure_lock:
        if _configured:
            return
        connection = CONF.database.connection
        if connection.startswith('sqlite:///'):
            # The embedded default lives under state_path, which may not exist yet.
            directory = os.path.dirname(connection[len('sqlite:///'):])
            if directory:
                os.makedirs(directory, exist_ok=True)
        # The engine facade reads the [database] group itself (connection,
        # slave_connection, pool sizes, retries); attachd sets only what differs from it.
        main_context_manager.configure(**FACADE_OPTIONS)
        main_context_manager.append_on_engine_create(setup_engine)
        _configured = True


FACADE_OPTIONS = {
    'sqlite_fk': True,
    # oslo.db's sleep(0) on every connection check-in lets eventlet switch green threads;
    # attachd runs on real threads, where it only forces a GIL hand-over per transaction.
    'thread_checkin': False,
}


# The key oslo.db's SQLite listeners keep in Connection.info while a transaction is open.
SQLITE_TRANSACTION_MARKER = 'in_transaction'
# SQLite engines whose transactions start with BEGIN IMMEDIATE (_sqlite_begin_immediate).
_IMMEDIATE_ENGINES = weakref.WeakSet()
# Engines setup_engine has seen (the facade and test fixtures may both hand it one).
_SET_UP_ENGINES = weakref.WeakSet()


# oslo.db starts SQLite transactions with a plain (deferred) BEGIN from its own "begin"
# listener, unless the connection's info already holds its "in_transaction" marker. A
# deferred transaction that reads and then writes fails at once with "database is locked"
# when another writer got in between, instead of waiting: attachd's listener says BEGIN
# IMMEDIATE and sets the marker first, and oslo.db's commit/rollback listeners clear it. It
# listens on the Engine class because SQLAlchemy runs class listeners before those of an
# engine (oslo.db's), and ignores insert=True for an engine's connection events.
# attachd/tests/unit/db/test_sqlite_engine.py pins oslo.db's and SQLAlchemy's side of this.
@event.listens_for(sa.engine.Engine, 'begin')
def _sqlite_begin_immediate(conn):
    if conn.engine in _IMMEDIATE_ENGINES and SQLITE_TRANSACTION_MARKER not in conn.info:
        conn.exec_driver_sql('BEGIN IMMEDIATE')
        conn.info[SQLITE_TRANSACTION_MARKER] = True


def plain_sqlite_begin(engine):
    """Let a SQLite engine start its transactions with oslo.db's deferred BEGIN again
    (a test database's teardown inspects the schema on a second connection while the
    first still holds a transaction)."""
    _IMMEDIATE_ENGINES.discard(engine)


# A connection checked in less than this many seconds ago is not pinged at its next
# checkout (_ping_only_idle_connections).
PING_AFTER_IDLE_SECONDS = 0.5


def _ping_only_idle_connections(engine):
    """Let the pool's pre-ping (oslo.db turns it on for every engine) skip a connection
    that was in use less than ``PING_AFTER_IDLE_SECONDS`` ago.

    The pre-ping is a round trip (``SELECT 1``) before every checkout, so before every
    transaction and every lone read: 10 of the attach cycle's 40 PostgreSQL round trips,
    and in py-spy's wall-clock profile at one client 2.8 ms of the API's and 1.7 ms of the
    manager's time per cycle of about 40 ms. A connection that just served a transaction
    tells nothing new by answering it. What the ping is for still holds: a connection idle
    for longer is pinged and replaced when dead (a database restart takes longer than
    that), and a connection that fails in use is invalidated with every connection opened
    before it (SQLAlchemy's pool invalidation on a disconnect), so none of those is
    trusted afterwards either. The price: a server connection killed within that half
    second of its last use fails the next statement on it (a 503) instead of being
    replaced; attachd/tests/functional/db/test_engine_pool.py shows both cases.
    """
    last_checkin = weakref.WeakKeyDictionary()

    @event.listens_for(engine, 'checkin')
    def _checked_in(dbapi_connection, connection_record):
        if dbapi_connection is not None:
            last_checkin[dbapi_connection] = time.monotonic()

    dialect_ping = engine.dialect.do_ping

    def do_ping(dbapi_connection):
        checked_in = last_checkin.get(dbapi_connection)
        if (checked_in is not None
                and time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS):
            return True
        return dialect_ping(dbapi_connection)

    engine.dialect.do_ping = do_ping


def setup_engine(engine):
    """Engine settings attachd relies on.

    SQLite: transactions start with ``BEGIN IMMEDIATE`` so that a transaction that reads
    before it writes cannot fail on a stale snapshot; writers queue on the busy timeout
    instead.

    MySQL: connections speak utf8mb4. oslo.db opens them with ``charset=utf8`` (three
    bytes at most) unless the URL names one, and the server then refuses any string with a
    four-byte character (an emoji in a volume name, a connector value) with a 500; the
    tables are utf8mb4 already.
    """
    if engine in _SET_UP_ENGINES:
        return
    _SET_UP_ENGINES.add(engine)
    if engine.dialect.name != 'sqlite':
        _ping_only_idle_connections(engine)
    if engine.dialect.name == 'mysql':

        @event.listens_for(engine, 'connect')
        def _mysql_connect(dbapi_connection, connection_record):
            dbapi_connection.set_character_set('utf8mb4')

        engine.dispose()
        return
    if engine.dialect.name != 'sqlite':
        return

    @event.listens_for(engine, 'connect')
    def _sqlite_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA busy_timeout = 30000')
        if engine.url.database and engine.url.database != ':memory:':
            # Commits append to a write-ahead log instead of rewriting pages: several
            # times faster on the embedded mode's hot path, and as durable across a crash
            # of attachd (only a power loss can lose the last commits).
            cursor.execute('PRAGMA journal_mode = WAL')
            cursor.execute('PRAGMA synchronous = NORMAL')
        cursor.close()

    _IMMEDIATE_ENGINES.add(engine)

    if engine.url.database and engine.url.database != ':memory:':
        _keep_sqlite_connections(engine)

    # Connections opened before the listeners were added lack the settings.
    engine.dispose()


def _keep_sqlite_connections(engine):
    """Keep a SQLite file engine's connections open between transactions.

    oslo.db gives SQLite files a NullPool (SQLAlchemy would give a QueuePool): every
    transaction then opens the file and closes it again, and in WAL mode closing the last
    connection checkpoints the log into the file and deletes it. Measured on the Nova
    attach cycle run in-process (create, update, complete, delete; CPU time per cycle):
    12 ms with kept connections, 33 ms with NullPool, 27-35 ms with NullPool even when WAL
    is switched on only once. So a QueuePool keeps connections, which SQLAlchemy allows
    for files from any thread (it turns ``check_same_thread`` off).

    The kept connections are checked out of oslo.db's own pool: opening one still runs
    every "connect" listener oslo.db, SQLAlchemy and :func:`setup_engine` put on the
    engine; only their closing is deferred. Pinned by
    attachd/tests/unit/db/test_sqlite_engine.py (oslo.db still gives files a NullPool).
    """
    library_pool = engine.pool
    if not isinstance(library_pool, sa_pool.NullPool):
        return
    engine.pool = sa_pool.QueuePool(
        library_pool.connect, dialect=engine.dialect,
        pool_size=max(CONF.database.max_pool_size or 5, CONF.api.threads),
        max_overflow=CONF.database.max_overflow or 10,
        recycle=CONF.database.connection_recycle_time)


def get_engine():
    configure()
    return main_context_manager.writer.get_engine()


def _retry_on_deadlock(f):
    """Retry a whole transaction when the database reports a deadlock."""
    return oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                                     retry_interval=0.05, inc_retry_interval=True)(f)


def _writer(context):
    configure()
    return main_context_manager.writer.using(context)


def _reader(context):
    configure()
    return main_context_manager.reader.using(context)


# The attach cycle's functions run Core statements only: a plain connection spares them the
# ORM session each transaction would build (about 0.1 ms a transaction, measured). Inside a
# caller's session transaction they join it, as a session would.
def _writer_connection(context):
    configure()
    return main_context_manager.writer.connection.using(context)


@contextlib.contextmanager
def _psycopg2_autocommit(conn):
    """Run the statements of ``conn`` (a psycopg2 connection) without a transaction.

    psycopg2 opens every transaction with a ``BEGIN`` round trip of its own and ends it
    with a ``ROLLBACK`` one, around a read that is a single statement. With the DBAPI
    connection's ``autocommit`` flag (client-side in psycopg2; SQLAlchemy's psycopg2
    dialect flips it the same way around its pre-ping) the statement goes alone, and it sees
    one snapshot all the same. Not SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` option:
    switching back through it sets the isolation level explicitly, and psycopg2 then sends
    ``SET default_transaction_isolation`` at each switch (measured with pg_stat_statements:
    16 per attach cycle, as many round trips as were saved). MySQL's drivers send
    ``SET autocommit`` to switch, and SQLite keeps its ``BEGIN IMMEDIATE``: unchanged there.
    """
    dbapi_connection = conn.connection.dbapi_connection
    dbapi_connection.autocommit = True
    try:
        yield
    finally:
        if not dbapi_connection.closed:
            try:
                dbapi_connection.autocommit = False
            except Exception:
                # Never give the pool back a connection left in autocommit mode.
                conn.invalidate()
                raise


@contextlib.contextmanager
def _reader_connection(context):
    """A connection for ONE read statement: inside a caller's transaction, that
    transaction's; otherwise, on psycopg2, one in autocommit mode
    (:func:`_psycopg2_autocommit`), else a read transaction of its own."""
    configure()
    try:
        in_transaction = context.transaction_ctx is not None
    except db_exc.NoEngineContextEstablished:
        in_transaction = False
    if not in_transaction:
        # The main database's engine, as the facade's (synchronous) reader uses: not a
        # [database] slave_connection replica, which may lag behind the locks these reads
        # are made under.
        engine = main_context_manager.writer.get_engine()
        if engine.dialect.driver == 'psycopg2':
            with engine.connect() as conn, _psycopg2_autocommit(conn):
                yield conn
            return
    with main_context_manager.reader.connection.using(context) as conn:
        yield conn


def _now():
    return timeutils.utcnow().replace(tzinfo=None)


def _soft_delete_values():
    now = _now()
    return {'deleted': True, 'deleted_at': now, 'updated_at': now}


# --- the attach cycle's statements ---------------------------------------------------------------
#
# Every call of the attach cycle (reserve, connect, complete, delete, and the reads before
# them) runs these statements. They are SQLAlchemy Core statements on the tables, built once
# with bind parameters: no ORM unit of work or identity map, and no statement to build and
# hash per call. Measured in one process against PostgreSQL, an ORM ``select(Model)`` by
# primary key cost 1.09 ms per call and the same Core statement 0.51 ms, most of it
# SQLAlchemy's Python, not the database.

_ATT = models.VolumeAttachment.__table__
_VOL = models.Volume.__table__
_SPECS = models.AttachmentSpec.__table__
_ADMIN_MD = models.VolumeAdminMetadata.__table__
_ATT_LIVE = (_ATT.c.deleted == sa.false())
# An attachment's connector, from its attachment_specs rows, as a column of the statement
# that reads the attachment (see connector_from_specs).
_CONNECTOR = models.connector_specs(_ATT.c.id).label('connector')


def _by_volume_order(stmt):
    return stmt.order_by(_ATT.c.created_at, _ATT.c.id)


_VOLUME_BY_ID = sa.select(_VOL).where(_VOL.c.id == sa.bindparam('volume_id'),
                                      _VOL.c.deleted == sa.false())
_VOLUME_BY_ID_IN_PROJECT = _VOLUME_BY_ID.where(_VOL.c.project_id == sa.bindparam('project_id'))
# A volume's admin metadata as a column of the statement that reads the volume: one JSON
# object text (``object_agg``; values are plain strings), NULL when it has none. Reading it
# that way instead of with a statement of its own saves a round trip on show, create and
# update (measured by the statement budgets).
_ADMIN_METADATA_COLUMN = (
    sa.select(models.object_agg(_ADMIN_MD.c.key, _ADMIN_MD.c.value))
    .where(_ADMIN_MD.c.volume_id == _VOL.c.id, _ADMIN_MD.c.deleted == sa.false())
    .scalar_subquery().label('admin_metadata'))
_VOLUME_WITH_METADATA_BY_ID = _VOLUME_BY_ID.add_columns(_ADMIN_METADATA_COLUMN)
_VOLUME_WITH_METADATA_BY_ID_IN_PROJECT = _VOLUME_WITH_METADATA_BY_ID.where(
    _VOL.c.project_id == sa.bindparam('project_id'))
_ADMIN_METADATA = sa.select(_ADMIN_MD.c.key, _ADMIN_MD.c.value).where(
    _ADMIN_MD.c.volume_id == sa.bindparam('volume_id'), _ADMIN_MD.c.deleted == sa.false())

# The live attachments of the volume of attachment ``attachment_id``, each with that
# volume's columns: one statement reads an attachment, its volume and the attachments
# sharing the volume. The volume's columns whose names the attachment's also have are
# given other names in the result (``id_1``...): rows are read by column object, as
# labelling each volume column cost 180 us more per execution in SQLAlchemy's statement
# cache key (measured).
_target = _ATT.alias('target')
_SAME_VOLUME = _by_volume_order(
    sa.select(_ATT, _CONNECTOR, _VOL)
    .join(_VOL, _VOL.c.id == _ATT.c.volume_id)
    .where(_ATT.c.volume_id == sa.select(_target.c.volume_id)
           .where(_target.c.id == sa.bindparam('attachment_id'),
                  _target.c.deleted == sa.false()).scalar_subquery(),
           _ATT_LIVE))
_SAME_VOLUME_IN_PROJECT = _SAME_VOLUME.where(_VOL.c.project_id == sa.bindparam('project_id'))
_SAME_VOLUME_WITH_METADATA = _SAME_VOLUME.add_columns(_ADMIN_METADATA_COLUMN)
_SAME_VOLUME_WITH_METADATA_IN_PROJECT = _SAME_VOLUME_WITH_METADATA.where(
    _VOL.c.project_id == sa.bindparam('project_id'))
del _target
# The attachment and its volume alone (os-complete, get by id).
_ATTACHMENT_WITH_VOLUME = (
    sa.select(_ATT, _CONNECTOR, _VOL).join(_VOL, _VOL.c.id == _ATT.c.volume_id)
    .where(_ATT.c.id == sa.bindparam('attachment_id'), _ATT_LIVE))
_ATTACHMENT_WITH_VOLUME_IN_PROJECT = _ATTACHMENT_WITH_VOLUME.where(
    _VOL.c.project_id == sa.bindparam('project_id'))

_LIVE_BY_VOLUME = _by_volume_order(sa.select(_ATT, _CONNECTOR).where(
    _ATT.c.volume_id == sa.bindparam('volume_id'), _ATT_LIVE))
_LOCKED_LIVE_BY_VOLUME = _LIVE_BY_VOLUME.with_for_update()
_LIVE_CONNECTORS_BY_VOLUME = _by_volume_order(sa.select(_ATT.c.id, _CONNECTOR).where(
    _ATT.c.volume_id == sa.bindparam('volume_id'), _ATT_LIVE))
_LOCKED_LIVE_STATUSES = sa.select(_ATT.c.attach_status).where(
    _ATT.c.volume_id == sa.bindparam('volume_id'), _ATT_LIVE).with_for_update()
_ATTACHMENT_VOLUME_ID = sa.select(_ATT.c.volume_id).where(
    _ATT.c.id == sa.bindparam('attachment_id'), _ATT_LIVE)
_LOCK_VOLUME = sa.select(_VOL.c.id, _VOL.c.status, _VOL.c.multiattach,
                         _VOL.c.migration_status).where(
    _VOL.c.id == sa.bindparam('volume_id'), _VOL.c.deleted == sa.false()).with_for_update()
_SET_VOLUME_STATUS = sa.update(_VOL).where(_VOL.c.id == sa.bindparam('volume_id')).values(
    status=sa.bindparam('new_status'), attach_status=sa.bindparam('new_attach_status'),
    updated_at=sa.bindparam('now'))
_SET_VOLUME_ATTACH_STATUS = sa.update(_VOL).where(
    _VOL.c.id == sa.bindparam('volume_id')).values(
    attach_status=sa.bindparam('new_attach_status'), updated_at=sa.bindparam('now'))

# Reservation compare-and-swaps (see attachment_reserve).
_RESERVE_AVAILABLE = sa.update(_VOL).where(
    _VOL.c.id == sa.bindparam('volume_id'), _VOL.c.deleted == sa.false(),
    _VOL.c.status == VolumeStatus.AVAILABLE,
    _VOL.c.multiattach == sa.bindparam('is_multiattach'),
).values(status=VolumeStatus.RESERVED, attach_status=AttachStatus.RESERVED,
         updated_at=sa.bindparam('now'))
_RESERVE = sa.update(_VOL).where(
    _VOL.c.id == sa.bindparam('volume_id'), _VOL.c.deleted == sa.false(),
    _VOL.c.status.in_(sa.bindparam('allowed', expanding=True)),
    _VOL.c.multiattach == sa.bindparam('is_multiattach'),
).values(status=VolumeStatus.RESERVED, updated_at=sa.bindparam('now'))
_RESERVE_SAME_INSTANCE = sa.update(_VOL).where(
    _VOL.c.id == sa.bindparam('volume_id'), _VOL.c.deleted == sa.false(),
    _VOL.c.status.in_(VolumeStatus.OVERRIDE),
    sa.exists().where(_ATT.c.volume_id == _VOL.c.id,
                      _ATT.c.instance_uuid == sa.bindparam('instance_uuid'), _ATT_LIVE),
).values(updated_at=sa.bindparam('now'))
_VOLUME_STATUS = sa.select(_VOL.c.status).where(_VOL.c.id == sa.bindparam('volume_id'),
                                               _VOL.c.deleted == sa.false())
_INSERT_ATTACHMENT = sa.insert(_ATT)

# FENCING HOOK: no connection is recorded for a fenced host. The fence check is in the
# same statement as the write (not a read before it), so a fence committed before this
# statement runs is always seen (on MySQL, InnoDB reads a DML statement's subquery with a
# locking read: the latest committed rows, not the transaction's snapshot). A fence
# committed after it finds this connection because the manager records it under its lock
# of the host, which the fence's sweep takes (Manager.fence_host).
_FENCE = models.Fence.__table__
_CONNECT = sa.update(_ATT).where(
    _ATT.c.id == sa.bindparam('attachment_id'),
    sa.not_(sa.exists().where(_FENCE.c.host == sa.bindparam('new_host')))).values(
    attach_status=AttachStatus.ATTACHING, attached_host=sa.bindparam('new_host'),
    mountpoint=sa.bindparam('new_mountpoint'), attach_time=sa.bindparam('now'),
    attach_mode=sa.bindparam('new_mode'),
    connection_info=sa.bindparam('new_connection_info'), updated_at=sa.bindparam('now'))
_COMPLETE = sa.update(_ATT).where(
    _ATT.c.id == sa.bindparam('attachment_id'),
    _ATT.c.volume_id == sa.bindparam('of_volume_id'),
    _ATT_LIVE).values(attach_status=AttachStatus.ATTACHED, updated_at=sa.bindparam('now'))
_DESTROY = sa.update(_ATT).where(
    _ATT.c.id == sa.bindparam('attachment_id'), _ATT_LIVE).values(
    attach_status=AttachStatus.DETACHED, detach_time=sa.bindparam('now'), deleted=True,
    deleted_at=sa.bindparam('now'), updated_at=sa.bindparam('now'))
_DELETE_SPECS = sa.update(_SPECS).where(
    _SPECS.c.attachment_id == sa.bindparam('of_attachment_id'),
    _SPECS.c.deleted == sa.false()).values(deleted=True, deleted_at=sa.bindparam('now'),
                                          updated_at=sa.bindparam('now'))
_INSERT_SPECS = sa.insert(_SPECS)


class _Columns:
    """Attribute access to one table's columns of a row (what the objects' ``_from_db_object``
    reads), for a row that carries them under other names or with changed values."""

    def __init__(self, values):
        self.__dict__.update(values)


def _volume_part(row):
    """The volume columns of a ``_SAME_VOLUME`` row."""
    mapping = row._mapping
    return _Columns({column.name: mapping[column] for column in _VOL.c})


def _attachment_part(row):
    """The attachment columns of a row (of ``_SAME_VOLUME`` or another attachment read),
    with its ``connector``."""
    mapping = row._mapping
    values = {column.name: mapping[column] for column in _ATT.c}
    values['connector'] = mapping[_CONNECTOR]
    return _Columns(values)


def connector_from_specs(specs):
    """The connector dict of an attachment row's ``connector`` (its ``attachment_specs``
    rows aggregated in the read: a JSON object of JSON texts), or None."""
    if not specs:
        return None
    return {key: jsonutils.loads(value) for key, value in jsonutils.loads(specs).items()}


def _specs_text(connector):
    """What a read of ``connector``'s spec rows gives (see :func:`connector_from_specs`)."""
    if not connector:
        return None
    return jsonutils.dumps({key: jsonutils.dumps(value) for key, value in connector.items()})


def _with_values(row, values):
    """``row``'s attachment columns, with ``values`` replacing some of them."""
    result = _attachment_part(row)
    result.__dict__.update(values)
    return result


# --- compare-and-swap --------------------------------------------------------------------------

def _where_expected(model, expected_values):
    """WHERE clauses for ``{column: value}``; a list or tuple value means IN."""
    clauses = []
    for key, value in expected_values.items():
        column = getattr(model, key)
        if isinstance(value, (list, tuple, set, frozenset)):
            clauses.append(column.in_(list(value)))
        elif value is None:
            clauses.append(column.is_(None))
        else:
            clauses.append(column == value)
    return clauses


def conditional_update(context, model, row_id, values, expected_values, extra_where=()):
    """Change row ``row_id`` of ``model`` to ``values`` only if it still has
    ``expected_values``, in one ``UPDATE ... WHERE`` statement.

    :param expected_values: ``{column: value}``; a list or tuple value means "one of".
    :param extra_where: further SQLAlchemy conditions (e.g. ``NOT EXISTS`` subqueries).
    :returns: True if the row matched and was changed, False otherwise.
    """
    values = dict(values)
    values.setdefault('updated_at', _now())
    with _writer(context) as session:
        stmt = (sa.update(model)
                .where(model.id == row_id, model.deleted == sa.false(),
                       *_where_expected(model, expected_values), *extra_where)
                .values(**values)
                .execution_options(synchronize_session=False))
        return session.execute(stmt).rowcount == 1


# --- services ---------------------------------------------------------------------------------

def service_create(context, values):
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    values.setdefault('heartbeat_at', _now())
    with _writer(context) as session:
        service = models.Service(**values)
        session.add(service)
        session.flush()
        return service


def service_get_by_args(context, host, binary, backend=None):
    with _reader(context) as session:
        stmt = sa.select(models.Service).where(
            models.Service.host == host, models.Service.binary == binary,
            models.Service.deleted == sa.false())
        if backend is not None:
            stmt = stmt.where(models.Service.backend == backend)
        service = session.scalars(stmt).first()
        if service is None:
            raise exception.ServiceNotFound(service_id='%s@%s' % (host, backend))
        return service


def service_get_all(context, binary=None, backend=None, cluster_name=None):
    with _reader(context) as session:
        stmt = sa.select(models.Service).where(models.Service.deleted == sa.false())
        if binary is not None:
            stmt = stmt.where(models.Service.binary == binary)
        if backend is not None:
            stmt = stmt.where(models.Service.backend == backend)
        if cluster_name is not None:
            stmt = stmt.where(models.Service.cluster_name == cluster_name)
        return list(session.scalars(stmt.order_by(models.Service.id)))


def service_update(context, service_id, values):
    with _writer(context) as session:
        session.execute(sa.update(models.Service)
                        .where(models.Service.id == service_id)
                        .values(**values))


def service_heartbeat(context, service_id):
    """Record that a service is alive; returns the time written."""
    now = _now()
    with _writer(context) as session:
        session.execute(sa.update(models.Service)
                        .where(models.Service.id == service_id)
                        .values(heartbeat_at=now, updated_at=now,
                                report_count=models.Service.report_count + 1))
    return now


# --- volume types ------------------------------------------------------------------------------

def _type_query(context):
    return sa.select(models.VolumeType).where(models.VolumeType.deleted == sa.false())


def volume_type_create(context, values, extra_specs=None):
    values = dict(values)
    values.setdefault('id', uuidutils.generate_uuid())
    with _writer(context) as session:
        exists = session.scalars(_type_query(context).where(
            models.VolumeType.name == values['name'])).first()
        if exists is not None:
            raise exception.VolumeTypeExists(name=values['name'])
        vtype = models.VolumeType(**values)
        session.add(vtype)
        session.flush()
        for key, value in (extra_specs or {}).items():
            session.add(models.VolumeTypeExtraSpec(volume_type_id=vtype.id, key=key,
                                                   value=value))
        session.flush()
        session.refresh(vtype)
        return vtype


def volume_type_get(context, type_id):
    with _reader(context) as session:
        vtype = session.scalars(_type_query(context).where(
            models.VolumeType.id == type_id)).first()
        if vtype is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        return vtype


def volume_type_get_by_name(context, name):
    with _reader(context) as session:
        vtype = session.scalars(_type_query(context).where(
            models.VolumeType.name == name)).first()
        if vtype is None:
            raise exception.VolumeTypeNotFoundByName(volume_type_name=name)
        return vtype


def volume_type_get_all(context):
    with _reader(context) as session:
        return list(session.scalars(_type_query(context).order_by(models.VolumeType.name)))


def volume_type_destroy(context, type_id):
    """Soft-delete a type that no live volume uses."""
    with _writer(context) as session:
        in_use = sa.exists().where(models.Volume.volume_type_id == type_id,
                                   models.Volume.deleted == sa.false())
        result = session.execute(
            sa.update(models.VolumeType)
            .where(models.VolumeType.id == type_id,
                   models.VolumeType.deleted == sa.false(), ~in_use)
            .values(**_soft_delete_values()))
        if result.rowcount == 1:
            session.execute(sa.update(models.VolumeTypeExtraSpec)
                            .where(models.VolumeTypeExtraSpec.volume_type_id == type_id,
                                   models.VolumeTypeExtraSpec.deleted == sa.false())
                            .values(**_soft_delete_values()))
            return
        volume_type_get(context, type_id)
        raise exception.VolumeTypeInUse(volume_type_id=type_id)


def volume_type_extra_specs_update(context, type_id, specs):
    """Set ``specs`` on a type (adding or replacing keys); returns all its specs."""
    with _writer(context) as session:
        volume_type_get(context, type_id)
        current = {spec.key: spec for spec in session.scalars(
            sa.select(models.VolumeTypeExtraSpec).where(
                models.VolumeTypeExtraSpec.volume_type_id == type_id,
                models.VolumeTypeExtraSpec.deleted == sa.false()))}
        for key, value in specs.items():
            if key in current:
                current[key].value = value
                current[key].updated_at = _now()
            else:
                session.add(models.VolumeTypeExtraSpec(volume_type_id=type_id, key=key,
                                                       value=value))
        session.flush()
        return volume_type_extra_specs_get(context, type_id)


def volume_type_extra_specs_get(context, type_id):
    with _reader(context) as session:
        rows = session.scalars(sa.select(models.VolumeTypeExtraSpec).where(
            models.VolumeTypeExtraSpec.volume_type_id == type_id,
            models.VolumeTypeExtraSpec.deleted == sa.false()))
        return {row.key: row.value for row in rows}


def volume_type_extra_specs_delete(context, type_id, key):
    with _writer(context) as session:
        result = session.execute(
            sa.update(models.VolumeTypeExtraSpec)
            .where(models.VolumeTypeExtraSpec.volume_type_id == type_id,
                   models.VolumeTypeExtraSpec.key == key,
                   models.VolumeTypeExtraSpec.deleted == sa.false())
            .values(**_soft_delete_values()))
        if result.rowcount == 0:
            raise exception.VolumeTypeExtraSpecNotFound(volume_type_id=type_id,
                                                        extra_specs_key=key)


# --- volumes -----------------------------------------------------------------------------------

def _volume_query(context, project_only=True):
    stmt = sa.select(models.Volume).where(models.Volume.deleted == sa.false())
    if project_only and not context.is_admin:
        stmt = stmt.where(models.Volume.project_id == context.project_id)
    return stmt


def volume_create(context, values, metadata=None, admin_metadata=None):
    values = dict(values)
    values.setdefault('id', uuidutils.generate_uuid())
    values.setdefault('status', VolumeStatus.CREATING)
    values.setdefault('attach_status', AttachStatus.DETACHED)
    with _writer(context) as session:
        volume = models.Volume(**values)
        session.add(volume)
        session.flush()
        for key, value in (metadata or {}).items():
            session.add(models.VolumeMetadata(volume_id=volume.id, key=key, value=value))
        for key, value in (admin_metadata or {}).items():
            session.add(models.VolumeAdminMetadata(volume_id=volume.id, key=key,
                                                   value=value))
        session.flush()
        return volume


def volume_get(context, volume_id, project_only=True):
    """The live volume ``volume_id``; a non-admin only finds its own project's volumes."""
    with _reader_connection(context) as conn:
        return _volume_get(conn, context, volume_id, project_only)


def _volume_get(conn, context, volume_id, project_only, with_metadata=False):
    if project_only and not context.is_admin:
        stmt = (_VOLUME_WITH_METADATA_BY_ID_IN_PROJECT if with_metadata
                else _VOLUME_BY_ID_IN_PROJECT)
        volume = conn.execute(stmt, {'volume_id': volume_id,
                                     'project_id': context.project_id}).first()
    else:
        stmt = _VOLUME_WITH_METADATA_BY_ID if with_metadata else _VOLUME_BY_ID
        volume = conn.execute(stmt, {'volume_id': volume_id}).first()
    if volume is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return volume


def _admin_metadata(conn, volume_id):
    return dict(conn.execute(_ADMIN_METADATA, {'volume_id': volume_id}).all())


def _metadata_object(text):
    """The dict of an ``_ADMIN_METADATA_COLUMN`` value."""
    return jsonutils.loads(text) if text else {}


def volume_get_with_admin_metadata(context, volume_id, project_only=True):
    """The live volume and its admin metadata, in one statement."""
    with _reader_connection(context) as conn:
        volume = _volume_get(conn, context, volume_id, project_only, with_metadata=True)
        return volume, _metadata_object(volume.admin_metadata)


def volume_get_all(context, filters=None, marker=None, limit=None, offset=None,
                   sort_keys=None, sort_dirs=None, project_only=True):
    """Live volumes matching ``filters`` (exact column matches, or substring matches for
    ``key~``: see ``_filter_clause``), keyset-paginated."""
    sort_keys, sort_dirs = _sort_with_tiebreakers(sort_keys, sort_dirs)
    with _reader(context) as session:
        stmt = _volume_query(context, project_only)
        for key, value in (filters or {}).items():
            stmt = stmt.where(_filter_clause(models.Volume, key, value))
        marker_row = None
        if marker is not None:
            marker_row = session.scalars(_volume_query(context, project_only).where(
                models.Volume.id == marker)).first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        stmt = _paginate(stmt, models.Volume, limit, sort_keys, marker_row, sort_dirs)
        if offset:
            stmt = stmt.offset(offset)
        return list(session.scalars(stmt))


def volume_update(context, volume_id, values):
    values = dict(values)
    values.setdefault('updated_at', _now())
    with _writer(context) as session:
        result = session.execute(sa.update(models.Volume)
                                 .where(models.Volume.id == volume_id,
                                        models.Volume.deleted == sa.false())
                                 .values(**values))
        if result.rowcount == 0:
            raise exception.VolumeNotFound(volume_id=volume_id)


def _live_attachments_exist(volume_id_column):
    return sa.exists().where(models.VolumeAttachment.volume_id == volume_id_column,
                             models.VolumeAttachment.deleted == sa.false())


def volume_begin_delete(context, volume_id):
    """Move a volume to ``deleting`` if it may be deleted, in one CAS statement.

    It may when its status is one of ``VolumeStatus.DELETABLE`` and no live attachment
    exists. This races safely with a reservation, which needs the volume ``available``.

    :returns: the status the volume had, when the CAS failed; None when it won.
    """
    won = conditional_update(
        context, models.Volume, volume_id,
        {'status': VolumeStatus.DELETING},
        {'status': VolumeStatus.DELETABLE},
        extra_where=[~_live_attachments_exist(models.Volume.id)])
    if won:
        return None
    return volume_get(context, volume_id).status


def volume_begin_reimage(context, volume_id, statuses):
    """Move a volume to ``downloading`` for a re-image, remembering its status in
    ``previous_status``, if its status is one of ``statuses`` and at most one live
    attachment holds it.

    One CAS statement per allowed status (not ``previous_status = status``, which MySQL
    evaluates after the status assignment).

    :returns: None when it won, else ``(status, live attachment count)``.
    """
    live_count = (sa.select(sa.func.count())
                  .where(models.VolumeAttachment.volume_id == models.Volume.id,
                         models.VolumeAttachment.deleted == sa.false())
                  .scalar_subquery())
    for status in statuses:
        if conditional_update(context, models.Volume, volume_id,
                              {'status': VolumeStatus.DOWNLOADING, 'previous_status': status},
                              {'status': status}, extra_where=[live_count <= 1]):
            return None
    with _reader(context) as session:
        status = volume_get(context, volume_id).status
        count = session.scalar(sa.select(sa.func.count()).where(
            models.VolumeAttachment.volume_id == volume_id,
            models.VolumeAttachment.deleted == sa.false()))
    return status, count


def volume_end_download(context, volume_id, failed=False):
    """End a volume's ``downloading`` period (a re-image): ``error`` when it failed, else
    the status its live attachments give (``reserved`` while a reservation holds it,
    ``available`` otherwise) or, when it started from a status attachments do not drive
    (``error``), that status again.

    :returns: the new status, or None when the volume had left ``downloading``.
    """
    with _writer(context) as session:
        volume = _lock_volume(session, volume_id)
        if volume.status != VolumeStatus.DOWNLOADING:
            return None
        previous = session.scalar(sa.select(models.Volume.previous_status).where(
            models.Volume.id == volume_id))
        status = VolumeStatus.ERROR if failed else previous or VolumeStatus.AVAILABLE
        if status in VolumeStatus.ATTACHMENT_DRIVEN:
            status = VolumeStatus.AVAILABLE
        session.execute(sa.update(models.Volume).where(models.Volume.id == volume_id)
                        .values(status=status, previous_status=None, updated_at=_now()))
        if status == VolumeStatus.AVAILABLE:
            status, _attach_status = _recompute_volume_status(session, volume_id)
        return status


def volume_destroy(context, volume_id):
    """Soft-delete a volume and its metadata."""
    with _writer(context) as session:
        values = _soft_delete_values()
        values.update(status='deleted', terminated_at=values['deleted_at'])
        session.execute(sa.update(models.Volume)
                        .where(models.Volume.id == volume_id,
                               models.Volume.deleted == sa.false())
                        .values(**values))
        for model in (models.VolumeMetadata, models.VolumeAdminMetadata):
            session.execute(sa.update(model)
                            .where(model.volume_id == volume_id,
                                   model.deleted == sa.false())
                            .values(**_soft_delete_values()))


def _metadata_get(context, model, volume_id):
    with _reader(context) as session:
        rows = session.scalars(sa.select(model).where(model.volume_id == volume_id,
                                                      model.deleted == sa.false()))
        return {row.key: row.value for row in rows}


def _metadata_get_many(context, model, volume_ids):
    result = {volume_id: {} for volume_id in volume_ids}
    if not volume_ids:
        return result
    with _reader(context) as session:
        rows = session.scalars(sa.select(model).where(model.volume_id.in_(volume_ids),
                                                      model.deleted == sa.false()))
        for row in rows:
            result[row.volume_id][row.key] = row.value
    return result


def volume_metadata_get(context, volume_id):
    return _metadata_get(context, models.VolumeMetadata, volume_id)


def volume_metadata_get_many(context, volume_ids):
    return _metadata_get_many(context, models.VolumeMetadata, volume_ids)


def volume_admin_metadata_get(context, volume_id):
    with _reader_connection(context) as conn:
        return _admin_metadata(conn, volume_id)


def volume_admin_metadata_get_many(context, volume_ids):
    return _metadata_get_many(context, models.VolumeAdminMetadata, volume_ids)


def _metadata_update(context, model, volume_id, metadata):
    with _writer(context) as session:
        rows = {row.key: row for row in session.scalars(
            sa.select(model).where(model.volume_id == volume_id,
                                   model.deleted == sa.false()))}
        for key, value in metadata.items():
            if key in rows:
                rows[key].value = value
                rows[key].updated_at = _now()
            else:
                session.add(model(volume_id=volume_id, key=key, value=value))
        session.flush()


def volume_metadata_update(context, volume_id, metadata, delete=False):
    """Set the keys of ``metadata`` on the volume (one transaction).

    :param delete: replace the metadata: keys not in ``metadata`` are deleted.
    :returns: the volume's metadata afterwards.
    """
    with _writer(context) as session:
        if delete:
            session.execute(sa.update(models.VolumeMetadata).where(
                models.VolumeMetadata.volume_id == volume_id,
                models.VolumeMetadata.deleted == sa.false(),
                models.VolumeMetadata.key.not_in(list(metadata)))
                .values(**_soft_delete_values())
                .execution_options(synchronize_session=False))
        _metadata_update(context, models.VolumeMetadata, volume_id, metadata)
        return _metadata_get(context, models.VolumeMetadata, volume_id)


def volume_metadata_delete(context, volume_id, key):
    """Delete one key of the volume's metadata.

    :raises VolumeMetadataNotFound: the volume has no such key.
    """
    with _writer(context) as session:
        deleted = session.execute(sa.update(models.VolumeMetadata).where(
            models.VolumeMetadata.volume_id == volume_id,
            models.VolumeMetadata.deleted == sa.false(),
            models.VolumeMetadata.key == key)
            .values(**_soft_delete_values())
            .execution_options(synchronize_session=False)).rowcount
    if not deleted:
        raise exception.VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)


def volume_usage(context, project_id):
    """``(volumes, gigabytes)``: how many live volumes the project has and their size."""
    with _reader(context) as session:
        count, size = session.execute(
            sa.select(sa.func.count(models.Volume.id),
                      sa.func.coalesce(sa.func.sum(models.Volume.size), 0))
            .where(models.Volume.project_id == project_id,
                   models.Volume.deleted == sa.false())).one()
        return int(count), int(size)


def volume_admin_metadata_update(context, volume_id, metadata):
    _metadata_update(context, models.VolumeAdminMetadata, volume_id, metadata)


def _attachment_query(context, project_only=True, project_id=None):
    """Live attachments; scoped to the caller's project through the volume unless admin."""
    stmt = (sa.select(models.VolumeAttachment)
            .join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
            .where(models.VolumeAttachment.deleted == sa.false()))
    if project_only and not context.is_admin:
        stmt = stmt.where(models.Volume.project_id == context.project_id)
    elif project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    return stmt


def _lock_volume(session, volume_id):
    """Take the volume's row lock (SQLite: the IMMEDIATE transaction already serializes)."""
    volume = session.execute(_LOCK_VOLUME, {'volume_id': volume_id}).first()
    if volume is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return volume


def _recompute_volume_status(session, volume_id, volume=None, attach_statuses=None):
    """Set the volume's status and attach_status from its live attachments.

    Cinder's rule (``volume_detached``): the first of attached, attaching, detaching,
    reserved present among the live non-error attachments decides; none left means
    detached/available. Only attachment-driven statuses are replaced, and a volume that is
    migrating or uploading keeps its status when no attachment is left.

    Must run in the transaction that changed the attachments; takes the volume's row lock
    and reads the attachments with a locking read, so rows committed by concurrent
    transactions are seen.

    :param volume: the row :func:`_lock_volume` returned, when this transaction holds the
        lock already.
    :param attach_statuses: the attach statuses of the live attachments, when the caller read them
        under that lock already (each saves a round trip on the hot path).
    """
    if volume is None:
        volume = _lock_volume(session, volume_id)
    if attach_statuses is None:
        attach_statuses = session.scalars(_LOCKED_LIVE_STATUSES, {'volume_id': volume_id})
    attach_statuses = set(attach_statuses)
    attach_status = AttachStatus.DETACHED
    for candidate in AttachStatus.PRECEDENCE:
        if candidate in attach_statuses:
            attach_status = candidate
            break
    status = statuses.volume_status_for(attach_status)
    busy_elsewhere = (volume.migration_status not in (None, 'success', 'error') or
                      volume.status == VolumeStatus.UPLOADING)
    params = {'volume_id': volume_id, 'new_attach_status': attach_status, 'now': _now()}
    if (volume.status in VolumeStatus.ATTACHMENT_DRIVEN and
            not (status == VolumeStatus.AVAILABLE and busy_elsewhere)):
        params['new_status'] = status
        session.execute(_SET_VOLUME_STATUS, params)
        return status, attach_status
    session.execute(_SET_VOLUME_ATTACH_STATUS, params)
    return volume.status, attach_status


def _locked_live_attachments(session, volume_id):
    """The volume's live attachments, read under its row lock with a locking read."""
    return session.execute(_LOCKED_LIVE_BY_VOLUME, {'volume_id': volume_id}).all()


def _attachment_volume_id(session, attachment_id):
    volume_id = session.scalars(_ATTACHMENT_VOLUME_ID,
                                {'attachment_id': attachment_id}).first()
    if volume_id is None:
        raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
    return volume_id


def _reserve_message(volume_id, allowed, status):
    return _('Volume %(id)s status must be %(allowed)s to reserve, but the current status '
             'is %(status)s.') % {'id': volume_id, 'allowed': ' or '.join(allowed),
                                  'status': status}


@_retry_on_deadlock
def attachment_reserve(context, volume_id, instance_uuid=None, attach_mode=None,
                       multiattach=None):
    """Reserve a volume for an instance and create its ``reserved`` attachment.

    One transaction: a CAS moves the volume to ``reserved`` if its status allows a
    reservation (``available``/``downloading``; a multiattach volume also while other
    attachments of it exist). Failing that, the same instance may add a second attachment
    to a volume it already holds (in-use or reserved: Nova's live migration, resize, shelve),
    checked by a second CAS. The new row is inserted and the volume status recomputed from
    all live attachments. From ``available``, the common case, the first CAS sets both
    statuses to ``reserved`` itself, as Cinder's reservation does: an available volume has
    no attachment that would come before the new reservation.

    :returns: the new attachment row.
    :raises VolumeNotFound: the volume does not exist or belongs to another project.
    :raises InvalidVolume: the volume cannot be reserved, with Cinder's wording.
    """
    if multiattach is None:
        multiattach = volume_get(context, volume_id).multiattach
    allowed = (VolumeStatus.RESERVABLE_MULTIATTACH if multiattach
               else VolumeStatus.RESERVABLE)
    now = _now()
    with _writer_connection(context) as conn:
        params = {'volume_id': volume_id, 'is_multiattach': bool(multiattach), 'now': now}
        if conn.execute(_RESERVE_AVAILABLE, params).rowcount == 1:
            return _insert_reservation(conn, volume_id, instance_uuid, attach_mode, now)
        won = conn.execute(_RESERVE, dict(params, allowed=list(allowed))).rowcount == 1
        if not won and instance_uuid is not None:
            won = conn.execute(_RESERVE_SAME_INSTANCE, {
                'volume_id': volume_id, 'instance_uuid': instance_uuid,
                'now': now}).rowcount == 1
        if not won:
            current = conn.scalars(_VOLUME_STATUS, {'volume_id': volume_id}).first()
            if current is None:
                raise exception.VolumeNotFound(volume_id=volume_id)
            if 'error' in current:
                raise exception.InvalidVolume(reason=_(
                    'Volume attachments can not be created if the volume is in an error '
                    'state. The Volume %(id)s currently has a status of: %(status)s ') %
                    {'id': volume_id, 'status': current})
            cinder_allowed = (VolumeStatus.AVAILABLE, VolumeStatus.IN_USE,
                              VolumeStatus.DOWNLOADING) if multiattach else allowed
            raise exception.InvalidVolume(
                reason=_reserve_message(volume_id, cinder_allowed, current))
        attachment = _insert_reservation(conn, volume_id, instance_uuid, attach_mode, now)
        # The CAS that won holds the volume's row lock and left its status attachment-driven
        # (reserved, or in-use/reserved for the same instance), and the new reservation
        # means it cannot end up available: no need to read the row again.
        _recompute_volume_status(conn, volume_id, _Columns({
            'status': VolumeStatus.RESERVED, 'migration_status': None}))
        return attachment


def _insert_reservation(conn, volume_id, instance_uuid, attach_mode, now):
    attachment = {column.name: None for column in _ATT.c}
    attachment['connector'] = None
    attachment.update(id=uuidutils.generate_uuid(), volume_id=volume_id,
                      instance_uuid=instance_uuid, attach_status=AttachStatus.RESERVED,
                      attach_mode=attach_mode or 'null', created_at=now, deleted=False)
    conn.execute(_INSERT_ATTACHMENT, attachment)
    return _Columns(attachment)


def attachment_get(context, attachment_id, project_only=True):
    return attachment_get_one_with_volume(context, attachment_id, project_only)[0]


def attachment_get_one_with_volume(context, attachment_id, project_only=True):
    """The live attachment and its volume, in one statement (without the volume's other
    attachments).

    :returns: ``(attachment row, volume row)``.
    """
    params = {'attachment_id': attachment_id}
    stmt = _ATTACHMENT_WITH_VOLUME
    if project_only and not context.is_admin:
        stmt = _ATTACHMENT_WITH_VOLUME_IN_PROJECT
        params['project_id'] = context.project_id
    with _reader_connection(context) as conn:
        row = conn.execute(stmt, params).first()
    if row is None:
        raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
    return _attachment_part(row), _volume_part(row)


def attachment_get_with_volume(context, attachment_id, project_only=True,
                               admin_metadata=True):
    """The live attachment, its volume, the volume's admin metadata and its other live
    attachments, in one statement: what every attachment call reads first.

    :param admin_metadata: read the admin metadata too (in the same statement).
    :returns: ``(attachment row, volume row, admin metadata dict or None, rows of all the
        volume's live attachments, this one included, oldest first)``.
    """
    with _reader_connection(context) as conn:
        if project_only and not context.is_admin:
            stmt = (_SAME_VOLUME_WITH_METADATA_IN_PROJECT if admin_metadata
                    else _SAME_VOLUME_IN_PROJECT)
            rows = conn.execute(stmt, {'attachment_id': attachment_id,
                                       'project_id': context.project_id}).all()
        else:
            stmt = _SAME_VOLUME_WITH_METADATA if admin_metadata else _SAME_VOLUME
            rows = conn.execute(stmt, {'attachment_id': attachment_id}).all()
        if not rows:
            raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        volume = _volume_part(rows[0])
        metadata = (_metadata_object(rows[0].admin_metadata) if admin_metadata else None)
        rows = [_attachment_part(row) for row in rows]
        attachment = next((row for row in rows if row.id == attachment_id), None)
        if attachment is None:
            raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        return attachment, volume, metadata, rows


def attachment_get_all(context, filters=None, marker=None, limit=None, offset=None,
                       sort_keys=None, sort_dirs=None, project_only=True, project_id=None):
    """Live attachments matching ``filters``, keyset-paginated.

    :param filters: exact matches on attachment columns (``key~``: substring matches, see
        ``_filter_clause``); ``status`` is an alias of ``attach_status`` and
        ``instance_id`` of ``instance_uuid``.
    :param project_only: scope to the caller's project (ignored for admins, who may pass
        ``project_id`` to pick one project).
    """
    sort_keys, sort_dirs = _sort_with_tiebreakers(sort_keys, sort_dirs)
    with _reader(context) as session:
        stmt = _attachment_query(context, project_only, project_id)
        for key, value in (filters or {}).items():
            stmt = stmt.where(_filter_clause(models.VolumeAttachment, key, value,
                                             ATTACHMENT_FILTER_ALIASES))
        marker_row = None
        if marker is not None:
            marker_row = session.scalars(_attachment_query(context, project_only).where(
                models.VolumeAttachment.id == marker)).first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        stmt = _paginate(stmt, models.VolumeAttachment, limit, sort_keys, marker_row,
                         sort_dirs)
        if offset:
            stmt = stmt.offset(offset)
        return list(session.scalars(stmt))


def attachment_get_all_by_volume(context, volume_id):
    """Every live attachment of a volume, oldest first (no project scoping)."""
    with _reader_connection(context) as conn:
        return conn.execute(_LIVE_BY_VOLUME, {'volume_id': volume_id}).all()


def attachment_connectors_by_volume(context, volume_id):
    """``[(attachment id, connector)]`` of the volume's live connected attachments, oldest
    first: what a manager keeps when it revokes one host (no other column is read, and no
    object is built)."""
    with _reader_connection(context) as conn:
        rows = conn.execute(_LIVE_CONNECTORS_BY_VOLUME, {'volume_id': volume_id}).all()
    return [(row.id, connector_from_specs(row.connector)) for row in rows if row.connector]


def attachment_get_all_by_volumes(context, volume_ids):
    """``{volume_id: [live attachments]}`` for several volumes, in one query."""
    result = {volume_id: [] for volume_id in volume_ids}
    if not volume_ids:
        return result
    with _reader(context) as session:
        rows = session.scalars(
            sa.select(models.VolumeAttachment)
            .where(models.VolumeAttachment.volume_id.in_(list(volume_ids)),
                   models.VolumeAttachment.deleted == sa.false())
            .order_by(models.VolumeAttachment.created_at, models.VolumeAttachment.id))
        for row in rows:
            result[row.volume_id].append(row)
    return result


def _write_connector(session, attachment_id, connector):
    """Replace the attachment's ``attachment_specs`` rows with ``connector``'s keys (one
    soft delete and one multi-row insert, whatever the number of keys)."""
    now = _now()
    session.execute(_DELETE_SPECS, {'of_attachment_id': attachment_id, 'now': now})
    if connector:
        session.execute(_INSERT_SPECS, [
            {'attachment_id': attachment_id, 'key': key, 'value': jsonutils.dumps(value),
             'created_at': now, 'deleted': False}
            for key, value in connector.items()])


def attachment_specs_get(context, attachment_id):
    """The connector of an attachment as stored key by key in ``attachment_specs``."""
    with _reader(context) as session:
        rows = session.scalars(sa.select(models.AttachmentSpec).where(
            models.AttachmentSpec.attachment_id == attachment_id,
            models.AttachmentSpec.deleted == sa.false()))
        return {row.key: jsonutils.loads(row.value) for row in rows}


def _find(rows, attachment_id):
    for row in rows:
        if row.id == attachment_id:
            return row
    raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)


@_retry_on_deadlock
def attachment_connected(context, attachment_id, connector, connection_info, values=None,
                         volume_id=None, check=None):
    """Record that the backend connected an attachment: status ``attaching``, the connector
    (its ``attachment_specs`` rows, replacing any earlier ones), connection_info, host,
    mountpoint, mode and attach time; then recompute the volume status. One transaction,
    under the volume lock.

    :param values: ``attach_mode`` to record (the attachment's own mode is kept otherwise).
    :param check: called as ``check(volume, attachment, live)`` with the rows read under
        the lock (the volume, the attachment, the volume's live attachments) before
        anything is written; it raises to refuse the connection. The rule is the caller's
        (``VolumeAttachment.check_connectable``); this function only gives it rows no
        concurrent transaction can change.
    :param volume_id: the attachment's volume, when the caller knows it (saves a query).
    :returns: the updated attachment row.
    """
    with _writer_connection(context) as conn:
        if volume_id is None:
            volume_id = _attachment_volume_id(conn, attachment_id)
        volume = _lock_volume(conn, volume_id)
        live = _locked_live_attachments(conn, volume_id)
        attachment = _find(live, attachment_id)
        if check is not None:
            check(volume, attachment, live)
        # Whole seconds, as MySQL's DATETIME keeps them anyway: the attachment travels back
        # to the API over RPC, whose datetime fields carry no fraction of a second, and the
        # update's answer must show the attach time a later read shows.
        now = _now().replace(microsecond=0)
        update = {
            'attach_status': AttachStatus.ATTACHING,
            'attached_host': connector.get('host'),
            'mountpoint': connector.get('mountpoint') or 'na',
            'attach_time': now,
            'attach_mode': (values or {}).get('attach_mode', attachment.attach_mode),
            'connection_info': jsonutils.dumps(connection_info),
            'updated_at': now,
        }
        if conn.execute(_CONNECT, {
                'attachment_id': attachment_id, 'now': now,
                'new_host': update['attached_host'],
                'new_mountpoint': update['mountpoint'], 'new_mode': update['attach_mode'],
                'new_connection_info': update['connection_info']}).rowcount != 1:
            # FENCING HOOK: the attachment is live (read under the lock): its host is fenced.
            raise exception.HostFenced(host=update['attached_host'], created_at=conn.scalar(
                sa.select(_FENCE.c.created_at).where(_FENCE.c.host == update['attached_host'])))
        if attachment.connector is not None:
            # An attachment without a connector has no spec rows to retire.
            conn.execute(_DELETE_SPECS, {'of_attachment_id': attachment_id, 'now': now})
        conn.execute(_INSERT_SPECS, [
            {'attachment_id': attachment_id, 'key': key, 'value': jsonutils.dumps(value),
             'created_at': now, 'deleted': False}
            for key, value in connector.items()])
        _recompute_volume_status(conn, volume_id, volume, [
            AttachStatus.ATTACHING if row.id == attachment_id else row.attach_status
            for row in live])
        update['connector'] = _specs_text(connector)
        return _with_values(attachment, update)


@_retry_on_deadlock
def attachment_complete(context, attachment_id, volume_id=None):
    """Mark an attachment ``attached`` and recompute its volume's status.

    :param volume_id: the attachment's volume, when the caller knows it (saves a query).
    """
    with _writer_connection(context) as conn:
        if volume_id is None:
            volume_id = _attachment_volume_id(conn, attachment_id)
        volume = _lock_volume(conn, volume_id)
        if conn.execute(_COMPLETE, {'attachment_id': attachment_id,
                                       'of_volume_id': volume_id,
                                       'now': _now()}).rowcount != 1:
            raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        # The volume now has a live attached attachment, and attached comes first in
        # Cinder's precedence: the other attachments cannot change the result, so they
        # are not read.
        _recompute_volume_status(conn, volume_id, volume, [AttachStatus.ATTACHED])


# attachment_destroy's default: delete whatever connection the attachment has.
ANY_CONNECTOR = object()


@_retry_on_deadlock
def attachment_destroy(context, attachment_id, expected_connector=ANY_CONNECTOR,
                       volume_id=None):
    """Soft-delete an attachment (``detached``, detach time) and recompute the volume status.

    :param expected_connector: delete only if the attachment's connector is still this one
        (None: still unconnected). A caller that revoked the connection it saw must not
        delete a row that an update connected meanwhile: that host's access would outlive
        every attachment.
    :param volume_id: the attachment's volume, when the caller knows it (saves a query).
    :returns: the volume's remaining live attachments.
    :raises VolumeAttachmentNotFound: it was already deleted (a repeated delete changes
        nothing).
    :raises AttachmentChanged: the connector is no longer ``expected_connector``.
    """
    with _writer_connection(context) as conn:
        if volume_id is None:
            volume_id = _attachment_volume_id(conn, attachment_id)
        volume = _lock_volume(conn, volume_id)
        # Under the volume's lock, which attachment_connected also takes; a locking read,
        # so MySQL's repeatable read does not answer from an older snapshot.
        live = _locked_live_attachments(conn, volume_id)
        attachment = _find(live, attachment_id)
        if expected_connector is not ANY_CONNECTOR:
            stored = connector_from_specs(attachment.connector)
            # None: the connection was forgotten since (the manager of a cluster that
            # revoked it does, attachment_connection_revoked): nothing outlives the row.
            if stored is not None and stored != expected_connector:
                raise exception.AttachmentChanged(attachment_id=attachment_id)
        now = _now()
        if conn.execute(_DESTROY, {'attachment_id': attachment_id,
                                      'now': now}).rowcount != 1:
            raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        if attachment.connector is not None:
            # An attachment without a connector has no spec rows to retire.
            conn.execute(_DELETE_SPECS, {'of_attachment_id': attachment_id, 'now': now})
        remaining = [row for row in live if row.id != attachment_id]
        _recompute_volume_status(conn, volume_id, volume,
                                 [row.attach_status for row in remaining])
        return remaining


def attachment_connection_revoked(context, attachment_id):
    """Forget the connector of an attachment whose connection a manager just revoked,
    leaving its status: the API deletes the row (or forgets the rest) next.

    A manager of a cluster calls it under the volume's cluster lock, so that between its
    revocation and the API's delete no member takes the attachment for a connected one
    (a start-up reconciliation would export the volume to that host again).
    """
    with _writer(context) as session:
        _write_connector(session, attachment_id, None)


def attachment_disconnected(context, attachment_id):
    """Forget an attachment's connection (connector, connection_info) after the backend
    revoked it, leaving the reservation: the status goes back to ``reserved``.

    An ``attached`` attachment stays attached and its volume keeps its status: a legacy
    os-terminate_connection never changes an in-use (or detaching) volume in Cinder.
    """
    with _writer(context) as session:
        volume_id = session.scalars(sa.select(models.VolumeAttachment.volume_id).where(
            models.VolumeAttachment.id == attachment_id,
            models.VolumeAttachment.deleted == sa.false())).first()
        if volume_id is None:
            raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        _lock_volume(session, volume_id)
        if conditional_update(context, models.VolumeAttachment, attachment_id,
                              {'connection_info': None},
                              {'attach_status': AttachStatus.ATTACHED}):
            _write_connector(session, attachment_id, None)
            return
        conditional_update(context, models.VolumeAttachment, attachment_id,
                           {'attach_status': AttachStatus.RESERVED,
                            'connection_info': None, 'attached_host': None,
                            'attach_time': None}, {})
        _write_connector(session, attachment_id, None)
        _recompute_volume_status(session, volume_id)


@_retry_on_deadlock
def attachment_take_over(context, attachment_id, from_attachment_id):
    """Move the host connection of ``from_attachment_id`` (connector, connection_info,
    host) onto ``attachment_id`` and delete the former: a server's attachment follows it to
    the host of its legacy live migration. Statuses stay as they are.

    :returns: the updated attachment row.
    """
    with _writer_connection(context) as conn:
        volume_id = _attachment_volume_id(conn, attachment_id)
        _lock_volume(conn, volume_id)
        live = _locked_live_attachments(conn, volume_id)
        attachment = _find(live, attachment_id)
        source = _find(live, from_attachment_id)
        now = _now()
        update = {'connection_info': source.connection_info,
                  'attached_host': source.attached_host, 'updated_at': now}
        conn.execute(sa.update(_ATT).where(_ATT.c.id == attachment_id).values(**update))
        conn.execute(_DESTROY, {'attachment_id': from_attachment_id, 'now': now})
        for stale in (attachment, source):
            if stale.connector is not None:
                conn.execute(_DELETE_SPECS, {'of_attachment_id': stale.id, 'now': now})
        connector = connector_from_specs(source.connector)
        if connector:
            conn.execute(_INSERT_SPECS, [
                {'attachment_id': attachment_id, 'key': key, 'value': jsonutils.dumps(value),
                 'created_at': now, 'deleted': False}
                for key, value in connector.items()])
        return _with_values(attachment, dict(update, connector=source.connector))


# os-attach's candidates: the volume's pending attachments a server (or a host without one)
# may complete, the connected one first, then the oldest.
_PENDING_FOR_INSTANCE = sa.select(_ATT.c.id).where(
    _ATT.c.volume_id == sa.bindparam('volume_id'), _ATT_LIVE,
    _ATT.c.attach_status.in_([AttachStatus.ATTACHING, AttachStatus.RESERVED]),
    sa.or_(_ATT.c.instance_uuid.is_(None),
           _ATT.c.instance_uuid == sa.bindparam('instance_uuid')),
).order_by(_ATT.c.connection_info.is_(None), _ATT.c.created_at, _ATT.c.id).limit(1)


@_retry_on_deadlock
def attachment_mark_attached(context, volume_id, instance_uuid=None, attached_host=None,
                             mountpoint=None, attachment_id=None):
    """Complete the volume's pending attachment for a legacy os-attach: record the server,
    host and mount point it names (values left None are kept) and mark it ``attached``,
    then recompute the volume status. One transaction under the volume's row lock: the
    attachment is chosen with a locking read and changed by a compare-and-swap on its
    status.

    :param attachment_id: complete this one (a reservation the caller just made), if it is
        still pending.
    :returns: the id of the attachment completed, or None when none is pending.
    """
    with _writer_connection(context) as conn:
        volume = _lock_volume(conn, volume_id)
        stmt = _PENDING_FOR_INSTANCE
        if attachment_id is not None:
            stmt = stmt.where(_ATT.c.id == attachment_id)
        chosen = conn.scalars(stmt.with_for_update(), {
            'volume_id': volume_id, 'instance_uuid': instance_uuid}).first()
        if chosen is None:
            return None
        values = {key: value for key, value in (('instance_uuid', instance_uuid),
                                                ('attached_host', attached_host),
                                                ('mountpoint', mountpoint))
                  if value is not None}
        won = conn.execute(
            sa.update(_ATT).where(
                _ATT.c.id == chosen, _ATT_LIVE,
                _ATT.c.attach_status.in_([AttachStatus.ATTACHING, AttachStatus.RESERVED]))
            .values(attach_status=AttachStatus.ATTACHED, updated_at=_now(),
                    **values)).rowcount == 1
        if not won:
            return None
        _recompute_volume_status(conn, volume_id, volume, [AttachStatus.ATTACHED])
        return chosen


@_retry_on_deadlock
def attachment_unreserve(context, volume_id):
    """Delete the volume's reservations that were never connected nor given a server
    (legacy os-unreserve), in one compare-and-swap, and recompute the volume status.

    :returns: how many were deleted.
    """
    has_specs = sa.exists().where(_SPECS.c.attachment_id == _ATT.c.id,
                                  _SPECS.c.deleted == sa.false())
    with _writer_connection(context) as conn:
        volume = _lock_volume(conn, volume_id)
        now = _now()
        deleted = conn.execute(
            sa.update(_ATT).where(
                _ATT.c.volume_id == volume_id, _ATT_LIVE,
                _ATT.c.attach_status == AttachStatus.RESERVED,
                _ATT.c.instance_uuid.is_(None), _ATT.c.connection_info.is_(None),
                ~has_specs)
            .values(attach_status=AttachStatus.DETACHED, detach_time=now, deleted=True,
                    deleted_at=now, updated_at=now)).rowcount
        if deleted:
            _recompute_volume_status(conn, volume_id, volume)
        return deleted


def _abandoned(older_than):
    """Conditions of a reservation never connected nor completed, unchanged since
    ``older_than``."""
    return (models.VolumeAttachment.deleted == sa.false(),
            models.VolumeAttachment.attach_status == AttachStatus.RESERVED,
            models.VolumeAttachment.connector.is_(None),
            sa.func.coalesce(models.VolumeAttachment.updated_at,
                             models.VolumeAttachment.created_at) < older_than)


def _on_backend(host, cluster_name):
    """Volumes of one manager's backend: those of its host and, for a member of a cluster,
    those of its cluster (its own volumes placed before it joined keep their host)."""
    if cluster_name is not None:
        return sa.or_(models.Volume.cluster_name == cluster_name, models.Volume.host == host)
    return models.Volume.host == host


def attachment_get_reclaimable(context, older_than, host=None, cluster_name=None):
    """Reservations never connected nor completed whose last change is before
    ``older_than``: the abandoned ones the reclaimer deletes.

    :param host: only those of volumes on this backend (``<host>@<backend>``).
    :param cluster_name: only those of volumes of this cluster (``<cluster>@<backend>``).
    """
    with _reader(context) as session:
        stmt = sa.select(models.VolumeAttachment).where(*_abandoned(older_than))
        if host is not None or cluster_name is not None:
            stmt = stmt.join(models.Volume,
                             models.Volume.id == models.VolumeAttachment.volume_id).where(
                _on_backend(host, cluster_name))
        return list(session.scalars(stmt))


@_retry_on_deadlock
def attachment_reclaim(context, attachment_id, older_than):
    """Delete an abandoned reservation, as :func:`attachment_destroy` would, only if it is
    still abandoned (one compare-and-swap: a reservation connected or completed meanwhile
    is left alone), and recompute the volume status in the same transaction.

    :returns: True when it was deleted.
    """
    with _writer(context) as session:
        volume_id = session.scalars(sa.select(models.VolumeAttachment.volume_id).where(
            models.VolumeAttachment.id == attachment_id,
            models.VolumeAttachment.deleted == sa.false())).first()
        if volume_id is None:
            return False
        _lock_volume(session, volume_id)
        values = _soft_delete_values()
        values.update(attach_status=AttachStatus.DETACHED, detach_time=values['deleted_at'])
        won = session.execute(
            sa.update(models.VolumeAttachment)
            .where(models.VolumeAttachment.id == attachment_id, *_abandoned(older_than))
            .values(**values)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            return False
        session.execute(sa.update(models.AttachmentSpec)
                        .where(models.AttachmentSpec.attachment_id == attachment_id,
                               models.AttachmentSpec.deleted == sa.false())
                        .values(**_soft_delete_values()))
        _recompute_volume_status(session, volume_id)
        return True


def attachment_get_connected_by_backend(context, host, cluster_name=None, volume_id=None):
    """Live attachments with a connection, of volumes whose ``host`` is ``host`` (and,
    given ``cluster_name``, of the volumes of that cluster); given ``volume_id``, those of
    that volume, whatever its backend (``host`` None)."""
    with _reader(context) as session:
        stmt = (sa.select(models.VolumeAttachment)
                .join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
                .where(models.Volume.deleted == sa.false(),
                       models.VolumeAttachment.deleted == sa.false(),
                       models.VolumeAttachment.connector.is_not(None)))
        if volume_id is not None:
            stmt = stmt.where(models.VolumeAttachment.volume_id == volume_id)
        if host is not None:
            stmt = stmt.where(_on_backend(host, cluster_name))
        return list(session.scalars(stmt))


# --- helpers -----------------------------------------------------------------------------------

# Columns that are never NULL, so that a row-value comparison on them orders like the sort.
_KEYSET_COLUMNS = ('id', 'created_at')


def _paginate(stmt, model, limit, sort_keys, marker_row, sort_dirs):
    """Order, limit and start after ``marker_row``.

    For the default order (``created_at, id``, one direction) the marker condition is the
    row-value comparison ``(created_at, id) < (:created_at, :id)``: the database walks the
    ``(created_at, id)`` index from the marker on, so a page deep in a long list costs the
    same as the first one. oslo.db's ``paginate_query`` writes the same condition as ``a <
    x OR (a = x AND b < y)``, which PostgreSQL can only apply as a filter over every row
    before the marker; it stays in use for other sort orders.
    """
    if (marker_row is None or len(set(sort_dirs)) != 1 or
            any(key not in _KEYSET_COLUMNS for key in sort_keys)):
        return sqlalchemyutils.paginate_query(stmt, model, limit, sort_keys,
                                              marker=marker_row, sort_dirs=sort_dirs)
    columns = [getattr(model, key) for key in sort_keys]
    row = sa.tuple_(*columns)
    values = sa.tuple_(*[getattr(marker_row, key) for key in sort_keys])
    if sort_dirs[0] == 'desc':
        stmt = stmt.where(row < values).order_by(*[c.desc() for c in columns])
    else:
        stmt = stmt.where(row > values).order_by(*[c.asc() for c in columns])
    return stmt.limit(limit) if limit is not None else stmt

def _sort_with_tiebreakers(sort_keys, sort_dirs):
    """Cinder's default order, ``created_at desc, id desc``, appended as tie-breakers so
    keyset pagination is stable."""
    sort_keys = list(sort_keys or [])
    sort_dirs = list(sort_dirs or [])
    while len(sort_dirs) < len(sort_keys):
        sort_dirs.append('desc')
    for key in ('created_at', 'id'):
        if key not in sort_keys:
            sort_keys.append(key)
            sort_dirs.append(sort_dirs[0] if sort_dirs else 'desc')
    return sort_keys, sort_dirs


def utcnow():
    """The database's notion of now: naive UTC."""
    return _now()

