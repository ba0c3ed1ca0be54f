"""The floor: the least a WSGI app answering the attach cycle can do.

One transaction per request against the same database as attachd (one statement inside
``BEGIN ... COMMIT``), JSON in and out in the shapes the attachments API returns, nothing
else: no middleware, no policy, no schema validation, no RPC. Run under the same WSGI
server and worker count as attachd, its throughput is what the hardware and the database
allow; attachd's throughput divided by it is the figure the benchmark reports.

The app reads ``ATTACHD_FLOOR_DB``: a ``postgresql://`` URL, ``sqlite:///<path>``, or
``none`` for an app that touches no database at all (used to measure the load generator's
own ceiling). With ``ATTACHD_FLOOR_RPC_URL`` and ``ATTACHD_FLOOR_RPC_TOPIC`` it is the RPC
floor (:mod:`attachd.bench.rpc_floor`).
"""

import datetime
import json
import os
import sqlite3
import threading
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_attachment (
    id VARCHAR(36) PRIMARY KEY,
    volume_id VARCHAR(36) NOT NULL,
    instance_uuid VARCHAR(36),
    attach_status VARCHAR(255),
    attach_mode VARCHAR(36),
    connector TEXT,
    connection_info TEXT,
    attach_time TIMESTAMP,
    created_at TIMESTAMP,
    deleted BOOLEAN NOT NULL DEFAULT FALSE
)"""
INDEX = ('CREATE INDEX IF NOT EXISTS floor_attachment_volume_idx '
         'ON floor_attachment (volume_id, deleted)')

_local = threading.local()


def _connect_sqlite(path):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute('PRAGMA busy_timeout = 30000')
    conn.execute('PRAGMA journal_mode = WAL')
    conn.execute('PRAGMA synchronous = NORMAL')
    return conn


class Database:
    """A connection per thread and a ``transaction(sql, params)`` that runs one statement
    in its own transaction, returning the fetched rows and the row count."""

    def __init__(self, url):
        self.url = url
        if url.startswith('sqlite:///'):
            self.kind = 'sqlite'
            self.path = url[len('sqlite:///'):]
        else:
            self.kind = 'postgresql'
            self.dsn = url.replace('postgresql+psycopg2://', 'postgresql://')

    def _conn(self):
        conn = getattr(_local, 'conn', None)
        if conn is None:
            if self.kind == 'sqlite':
                conn = _connect_sqlite(self.path)
            else:
                import psycopg2
                conn = psycopg2.connect(self.dsn)
            _local.conn = conn
        return conn

    def transaction(self, sql, params, fetch=False):
        conn = self._conn()
        if self.kind == 'sqlite':
            conn.execute('BEGIN IMMEDIATE')
            try:
                cursor = conn.execute(sql.replace('%s', '?'), params)
                rows = cursor.fetchall() if fetch else None
                count = cursor.rowcount
                conn.execute('COMMIT')
            except Exception:
                conn.execute('ROLLBACK')
                raise
            return rows, count
        with conn.cursor() as cursor:
            try:
                cursor.execute(sql, params)
                rows = cursor.fetchall() if fetch else None
                count = cursor.rowcount
                conn.commit()
            except Exception:
                conn.rollback()
                raise
        return rows, count

    def create_schema(self):
        if self.kind == 'sqlite':
            conn = _connect_sqlite(self.path)
            conn.execute(SCHEMA)
            conn.execute(INDEX)
            conn.close()
            return
        import psycopg2
        conn = psycopg2.connect(self.dsn)
        with conn.cursor() as cursor:
            cursor.execute(SCHEMA)
            cursor.execute(INDEX)
        conn.commit()
        conn.close()


class NoDatabase:
    """The load generator's ceiling: every statement "matches one row"."""

    def transaction(self, sql, params, fetch=False):
        if fetch:
            return [(str(uuid.uuid4()), None, None)], 1
        return None, 1


def _timestamp(value):
    if value is None:
        return ''
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f')


def _detail(attachment_id, volume_id, instance_uuid, status, attach_mode, attach_time,
            connection_info):
    return {'id': attachment_id, 'status': status, 'instance': instance_uuid,
            'volume_id': volume_id, 'attached_at': _timestamp(attach_time),
            'detached_at': '', 'attach_mode': attach_mode,
            'connection_info': connection_info}


def _connection_info(attachment_id, volume_id, connector):
    """The shape of the fake driver's answer, flattened as the API returns it."""
    return {'driver_volume_type': 'iscsi', 'target_discovered': False,
            'target_iqn': 'iqn.2010-10.org.openstack:volume-%s' % volume_id,
            'target_portal': '127.0.0.1:3260', 'target_lun': 1, 'access_mode': 'rw',
            'encrypted': False, 'qos_specs': None, 'cacheable': False,
            'volume_id': volume_id, 'attachment_id': attachment_id,
            'enforce_multipath': bool(connector.get('enforce_multipath', False))}


class FloorApp:
    """The floor; with ``rpc`` (:class:`attachd.bench.rpc_floor.Client`) the RPC floor,
    which calls it once per update (before answering, for the connection_info) and once
    per delete (before the row goes, as a revocation must)."""

    def __init__(self, db, rpc=None):
        self.db = db
        self.rpc = rpc

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        parts = environ.get('PATH_INFO', '/').strip('/').split('/')
        try:
            status, body = self._route(method, parts, environ)
        except LookupError:
            status, body = '404 Not Found', {'itemNotFound': {
                'code': 404, 'message': 'The resource could not be found.'}}
        if body is None:
            start_response(status, [('Content-Length', '0')])
            return [b'']
        data = json.dumps(body).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(data)))])
        return [data]

    @staticmethod
    def _body(environ):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        return json.loads(environ['wsgi.input'].read(length)) if length else {}

    def _route(self, method, parts, environ):
        if parts == [''] or parts == ['v3']:
            return '200 OK', {'versions': []}
        if len(parts) < 3 or parts[0] != 'v3' or parts[2] != 'attachments':
            raise LookupError()
        if len(parts) == 3 and method == 'POST':
            return self.create(self._body(environ)['attachment'])
        if len(parts) == 3 and method == 'GET':
            return self.list(environ.get('QUERY_STRING', ''))
        if len(parts) == 4 and method == 'PUT':
            return self.update(parts[3], self._body(environ)['attachment'])
        if len(parts) == 4 and method == 'DELETE':
            return self.delete(parts[3])
        if len(parts) == 5 and parts[4] == 'action' and method == 'POST':
            self._body(environ)
            return self.complete(parts[3])
        raise LookupError()

    def create(self, body):
        attachment_id = str(uuid.uuid4())
        now = datetime.datetime.utcnow()
        self.db.transaction(
            'INSERT INTO floor_attachment (id, volume_id, instance_uuid, attach_status, '
            'attach_mode, created_at, deleted) VALUES (%s, %s, %s, %s, %s, %s, %s)',
            (attachment_id, body['volume_uuid'], body.get('instance_uuid'), 'reserved',
             'null', now, False))
        return '200 OK', {'attachment': _detail(attachment_id, body['volume_uuid'],
                                                body.get('instance_uuid'), 'reserved',
                                                'null', None, {})}

    def update(self, attachment_id, body):
        connector = body['connector']
        now = datetime.datetime.utcnow()
        rows, _count = self.db.transaction(
            "UPDATE floor_attachment SET attach_status = 'attaching', attach_mode = 'rw', "
            'connector = %s, attach_time = %s WHERE id = %s AND deleted = %s '
            'RETURNING volume_id, instance_uuid, attach_time',
            (json.dumps(connector), now, attachment_id, False), fetch=True)
        if not rows:
            raise LookupError()
        volume_id, instance_uuid, _attach_time = rows[0]
        info = _connection_info(attachment_id, volume_id, connector)
        if self.rpc is not None:
            info.update(self.rpc.connect(attachment_id, volume_id, connector))
        return '200 OK', {'attachment': _detail(attachment_id, volume_id, instance_uuid,
                                                'attaching', 'rw', now, info)}

    def complete(self, attachment_id):
        _rows, count = self.db.transaction(
            "UPDATE floor_attachment SET attach_status = 'attached' "
            'WHERE id = %s AND deleted = %s', (attachment_id, False))
        if count != 1:
            raise LookupError()
        return '204 No Content', None

    def delete(self, attachment_id):
        if self.rpc is not None:
            self.rpc.disconnect(attachment_id)
        _rows, count = self.db.transaction(
            "UPDATE floor_attachment SET attach_status = 'detached', deleted = %s "
            'WHERE id = %s AND deleted = %s', (True, attachment_id, False))
        if count != 1:
            raise LookupError()
        return '200 OK', {'attachments': []}

    def list(self, query):
        params = dict(p.partition('=')[::2] for p in query.split('&') if p)
        rows, _count = self.db.transaction(
            'SELECT id, volume_id, instance_uuid FROM floor_attachment '
            'WHERE volume_id = %s AND deleted = %s',
            (params.get('volume_id', ''), False), fetch=True)
        return '200 OK', {'attachments': [
            {'id': r[0], 'status': 'attached', 'instance': r[2], 'volume_id': r[1]}
            for r in rows]}


def make_app(url, rpc=None):
    return FloorApp(NoDatabase() if url == 'none' else Database(url), rpc)


def _lazy_application():
    url = os.environ.get('ATTACHD_FLOOR_DB')
    if not url:
        return None
    rpc = None
    if os.environ.get('ATTACHD_FLOOR_RPC_TOPIC'):
        # Only the RPC floor loads oslo.messaging: the bare floor stays bare.
        from attachd.bench import rpc_floor
        rpc = rpc_floor.client_from_environ()
    return make_app(url, rpc)


application = _lazy_application()
