"""Listing attachments costs the same with 1,000 or 100,000 of them in the database.

Wall time on a shared machine is noise; what the database does is not. These tests capture
the SQL that ``attachment_get_all`` sends, run it under PostgreSQL's ``EXPLAIN (ANALYZE)``,
and count the rows the plan examines (rows returned by each scan of an attachd table plus
the rows its filters threw away). A page of 1,000 must examine no more than twice as many
rows with 100,000 attachments in the table as with 1,000, for the first page and for a
keyset page deep in the list, in the same number of statements. The timing comparison is in
the benchmark's output (``attachd-bench``, "list" lines).
"""

import datetime
import uuid

from oslo_serialization import jsonutils
import sqlalchemy as sa
from sqlalchemy import event

from attachd import context
from attachd.db import api as db_api
from attachd.db import models
from attachd.tests import base

PROJECT = 'a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4'
OTHER_PROJECT = 'ffffeeeeffffeeeeffffeeeeffffeeee'
VOLUMES = 1000
PAGE = 1000
T0 = datetime.datetime(2025, 1, 1)


def _volume_id(project_index, n):
    return str(uuid.UUID(int=(project_index << 96) + n))


def _attachment_id(n):
    return str(uuid.UUID(int=(5 << 96) + n))


class ExaminedRows:
    """Statements sent while the block runs, and the rows PostgreSQL examined for them."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _capture(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append((statement, parameters))

    def __enter__(self):
        event.listen(self.engine, 'before_cursor_execute', self._capture)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, 'before_cursor_execute', self._capture)

    def plans(self):
        """The EXPLAIN ANALYZE plan of each captured SELECT."""
        plans = []
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in self.statements:
                if not statement.lstrip().upper().startswith('SELECT'):
                    continue
                cursor.execute('EXPLAIN (ANALYZE, FORMAT JSON) ' + statement, parameters)
                plan = cursor.fetchone()[0]
                if isinstance(plan, str):
                    plan = jsonutils.loads(plan)
                plans.append(plan[0]['Plan'])
            raw.rollback()
        finally:
            raw.close()
        return plans


def _walk(node):
    yield node
    for child in node.get('Plans', []):
        yield from _walk(child)


def rows_examined(plan):
    """Rows read from attachd's tables: what each scan returned plus what its filter or
    index recheck removed, over all its loops."""
    total = 0
    for node in _walk(plan):
        if 'Relation Name' not in node:
            continue
        loops = node.get('Actual Loops', 1)
        total += loops * (node.get('Actual Rows', 0) + node.get('Rows Removed by Filter', 0) +
                          node.get('Rows Removed by Index Recheck', 0))
    return total


def seq_scanned_tables(plan):
    return {node['Relation Name'] for node in _walk(plan)
            if node['Node Type'] == 'Seq Scan' and 'Relation Name' in node}


class ListScalingTest(base.PostgreSQLMixin, base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.ctx = context.RequestContext(user_id='user', project_id=PROJECT)
        self.inserted = 0
        with self.engine.begin() as conn:
            conn.execute(models.Volume.__table__.insert(), [
                {'id': _volume_id(p, n), 'project_id': project, 'size': 1,
                 'status': 'in-use', 'attach_status': 'attached', 'multiattach': True,
                 'bootable': False, 'host': 'node@fake', 'deleted': False, 'created_at': T0}
                for p, project in ((1, PROJECT), (2, OTHER_PROJECT))
                for n in range(VOLUMES)])

    def _grow_to(self, total, deleted_every=0):
        """Add attachments (SQLAlchemy core, in bulk) until ``total`` exist: every second
        one on another project's volume, and every ``deleted_every``-th soft-deleted, as
        finished attach cycles leave them."""
        rows = []
        with self.engine.begin() as conn:
            for n in range(self.inserted, total):
                deleted = bool(deleted_every) and n % deleted_every == 0
                rows.append({
                    'id': _attachment_id(n),
                    'volume_id': _volume_id(1 + n % 2, n % VOLUMES),
                    'instance_uuid': str(uuid.UUID(int=(6 << 96) + n)),
                    'attach_status': 'detached' if deleted else 'attached',
                    'attach_mode': 'rw', 'attached_host': 'compute', 'mountpoint': '/dev/vdb',
                    'attach_time': T0, 'connection_info': '{}',
                    'deleted': deleted, 'deleted_at': T0 if deleted else None,
                    'created_at': T0 + datetime.timedelta(seconds=n)})
                if len(rows) == 20000:
                    conn.execute(models.VolumeAttachment.__table__.insert(), rows)
                    rows = []
            if rows:
                conn.execute(models.VolumeAttachment.__table__.insert(), rows)
        self.inserted = total
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level='AUTOCOMMIT').execute(
                sa.text('ANALYZE volume_attachment, volumes'))

    def _list(self, **kwargs):
        """(statements, rows examined, tables read sequentially, items) of one list call."""
        with ExaminedRows(self.engine) as examined:
            items = db_api.attachment_get_all(self.ctx, limit=PAGE, **kwargs)
        plans = examined.plans()
        return {'statements': len(examined.statements),
                'examined': sum(rows_examined(p) for p in plans),
                'seq_scans': set().union(*(seq_scanned_tables(p) for p in plans)),
                'items': len(items)}

    def _middle_marker(self):
        """An attachment of PROJECT about halfway down the default order."""
        n = self.inserted // 2
        return _attachment_id(n - n % 2)

    def _assert_scales(self, small, large):
        self.assertEqual(PAGE, large['items'])
        self.assertEqual(small['statements'], large['statements'])
        self.assertLessEqual(large['examined'], 2 * small['examined'],
                             'rows examined with 1,000 attachments: %s, with 100,000: %s'
                             % (small['examined'], large['examined']))
        self.assertNotIn('volume_attachment', large['seq_scans'])

    def test_first_page(self):
        self._grow_to(2 * PAGE)
        small = self._list()
        self._grow_to(100000, deleted_every=3)
        self._assert_scales(small, self._list())

    def test_keyset_page_deep_in_the_list(self):
        self._grow_to(2 * PAGE)
        small = self._list(marker=self._middle_marker())
        self._grow_to(100000, deleted_every=3)
        large = self._list(marker=self._middle_marker())
        self._assert_scales(small, large)

    def test_filtered_by_volume(self):
        volume_id = _volume_id(1, 0)
        self._grow_to(2 * PAGE)
        small = self._list(filters={'volume_id': volume_id})
        self._grow_to(100000, deleted_every=3)
        large = self._list(filters={'volume_id': volume_id})
        self.assertEqual(small['statements'], large['statements'])
        self.assertNotIn('volume_attachment', large['seq_scans'])
