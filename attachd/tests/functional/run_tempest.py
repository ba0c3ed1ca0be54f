"""tempest's volume API tests and cinder-tempest-plugin's API tests against attachd
(``tox -e tempest``).

A real Keystone (``attachd.tests.functional.identity``) with attachd in its catalog
(``block-storage`` and ``volumev3``), attachd-all with ``auth_strategy = keystone`` on a
free loopback port, and a tempest workspace whose ``tempest.conf`` switches off what
attachd does not implement (no Nova, Glance, Swift or Neutron; no backups, snapshots,
clones, manage, revert or extend of attached volumes). tempest's dynamic credentials make
a project and users per test class.

The results (pass/skip/fail counts per test module, and each failure with its error) are
written to ``--results`` (by default ``doc/source/tempest-results.inc``, which
``doc/source/tempest.rst`` includes).
"""

import argparse
import collections
import io
import os
import re
import subprocess
import sys
import tempfile

import subunit
import testtools

from attachd.tests.functional import identity
from attachd.tests.functional.deploy import base as deploy_base

REGEX = r'^(tempest\.api\.volume|cinder_tempest_plugin\.api)\.'

ATTACHD_CONF = """[DEFAULT]
state_path = {state}
[api]
bind_port = {port}
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = {keystone}
auth_url = {keystone}
auth_type = password
username = attachd
password = {password}
user_domain_id = default
project_name = service
project_domain_id = default
service_token_roles_required = true
"""

TEMPEST_CONF = """[DEFAULT]
log_file = tempest.log
[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = {password}
admin_project_name = admin
admin_domain_name = Default
[identity]
uri_v3 = {keystone}
auth_version = v3
region = RegionOne
[identity-feature-enabled]
api_v2 = false
[service_available]
cinder = true
nova = false
glance = false
swift = false
neutron = false
[volume]
catalog_type = block-storage
region = RegionOne
min_microversion = 3.0
max_microversion = 3.71
build_interval = 1
build_timeout = 60
[volume-feature-enabled]
backup = false
snapshot = false
clone = false
manage_volume = false
manage_snapshot = false
extend_attached_volume = false
extend_volume_with_snapshot = false
enable_volume_image_dep_tests = false
volume_image_dep_tests = false
volume_revert = false
consistency_group = false
concurrency_tests = false
"""


def _run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True)


def results(workspace):
    """``[(test id, status, detail)]`` of the workspace's last run; ``detail`` is the skip
    reason or the last line of the failure's traceback."""
    stream = subprocess.run([deploy_base.console_script('stestr'), 'last', '--subunit'],
                            cwd=workspace, check=True,
                            stdout=subprocess.PIPE).stdout
    found = []

    def on_test(test):
        details = test['details']
        text = ''
        if 'reason' in details:
            text = details['reason'].as_text().strip()
        elif 'traceback' in details:
            # The exception's line ("module.Error: message"), with tempest's "Details:".
            lines = [line.strip() for line in details['traceback'].as_text().splitlines()]
            raised = [i for i, line in enumerate(lines)
                      if re.match(r'^[A-Za-z_][\w.]*(Error|Exception|Failure|Found|Body|'
                                  r'Code|Request|Unauthorized|Forbidden|Fault|Conflict)\b',
                                  line)]
            if raised:
                text = ' '.join(lines[raised[-1]:raised[-1] + 2])
        test_id = test['id']
        if '(' in test_id:
            # setUpClass (module.Class): the whole class failed or was skipped.
            test_id = test_id[test_id.index('(') + 1:test_id.rindex(')')] + '.' + \
                test_id.split(' ')[0]
        found.append((test_id.split('[')[0], test['status'], text))

    case = subunit.ByteStreamToStreamResult(io.BytesIO(stream), non_subunit_name='stdout')
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    case.run(result)
    result.stopTestRun()
    return sorted(found)


def write_table(found, path, versions):
    """The results as reStructuredText, for ``doc/source/tempest.rst`` to include."""
    counts = collections.defaultdict(collections.Counter)
    for test_id, status, _detail in found:
        if status in ('success', 'skip', 'fail'):
            counts[test_id.rsplit('.', 2)[0]][status] += 1
    total = collections.Counter(status for _t, status, _d in found)
    lines = ['.. Written by attachd.tests.functional.run_tempest; included by tempest.rst.', '',
             'Produced by ``tox -e tempest`` (``attachd.tests.functional.run_tempest``)',
             'with %s.' % versions,
             'Passed %d, skipped %d, failed %d.' % (total['success'], total['skip'],
                                                     total['fail']), '',
             '.. list-table::', '   :header-rows: 1', '',
             '   * - Test module', '     - Passed', '     - Skipped', '     - Failed']
    for module in sorted(counts):
        lines += ['   * - ``%s``' % module] + ['     - %d' % counts[module][s]
                                                 for s in ('success', 'skip', 'fail')]
    lines += ['', 'The failures, with the error each raised:', '']
    for test_id, status, detail in found:
        if status == 'fail':
            lines += ['``%s``' % test_id, '   %s' % (detail.replace('`', "'")[:300] or '-'),
                      '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def read_expected_failures(path):
    """The test ids listed in ``path`` (one per line; ``#`` starts a comment)."""
    with open(path) as f:
        return {line.split('#', 1)[0].strip() for line in f} - {''}


def verdict(found, expected):
    """``(unexpected, fixed)``: the failed tests not in ``expected``, and the expected
    failures that passed (a test that did not run at all is neither)."""
    unexpected = sorted(t for t, status, _d in found if status == 'fail' and t not in expected)
    fixed = sorted(t for t, status, _d in found if status == 'success' and t in expected)
    return unexpected, fixed


def _version(name):
    from importlib import metadata
    return '%s %s' % (name, metadata.version(name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--regex', default=REGEX)
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--workdir', help='a new directory for the logs and the tempest '
                        'workspace, kept afterwards (default: a temporary one)')
    parser.add_argument('--results', default=os.path.join('doc', 'source',
                                                          'tempest-results.inc'))
    parser.add_argument('--expected-failures', metavar='FILE',
                        help='test ids expected to fail (unimplemented APIs): the run then '
                             'fails only for a failure not listed (as CI runs it)')
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix='attachd-tempest-')
    os.makedirs(workdir, exist_ok=True)
    # One gunicorn thread: Keystone's SQLite database fails concurrent writers (500s
    # while tempest's dynamic credentials are made for two workers).
    with identity.KeystoneFixture(workdir=os.path.join(workdir, 'keystone'),
                                  threads=1) as keystone:
        port = deploy_base.free_port()
        for service_type in ('block-storage', 'volumev3'):
            keystone.add_endpoint(service_type,
                                  'http://127.0.0.1:%d/v3/$(project_id)s' % port)
        config = os.path.join(workdir, 'attachd.conf')
        with open(config, 'w') as f:
            f.write(ATTACHD_CONF.format(state=os.path.join(workdir, 'state'), port=port,
                                        keystone=keystone.url,
                                        password=identity.PASSWORD))
        with open(os.path.join(workdir, 'attachd-all.log'), 'wb') as log:
            attachd = subprocess.Popen(
                [deploy_base.console_script('attachd-all'), '--config-file', config],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                deploy_base.wait_http('http://127.0.0.1:%d/' % port, timeout=60,
                                      process=attachd)
                workspace = os.path.join(workdir, 'tempest')
                if not os.path.exists(workspace):
                    # Registered in the workdir, not in ~/.tempest/workspace.yaml.
                    _run([deploy_base.console_script('tempest'), 'init',
                          '--name', 'attachd-%d' % port, '--workspace-path',
                          os.path.join(workdir, 'workspace.yaml'), workspace], workdir)
                with open(os.path.join(workspace, 'etc', 'tempest.conf'), 'w') as f:
                    f.write(TEMPEST_CONF.format(keystone=keystone.url,
                                                password=identity.PASSWORD))
                code = subprocess.run([deploy_base.console_script('tempest'), 'run',
                                       '--regex', args.regex,
                                       '--concurrency', str(args.concurrency)],
                                      cwd=workspace).returncode
            finally:
                deploy_base.ProcessMixin.stop(attachd)
    found = results(workspace)
    versions = ', '.join(_version(n) for n in ('tempest', 'cinder-tempest-plugin',
                                                'keystone'))
    write_table(found, args.results, versions)
    print('Results in %s; logs in %s' % (args.results, workdir))
    if not args.expected_failures:
        return code
    if not any(status == 'success' for _t, status, _d in found):
        print('tempest: no test passed; the run itself failed (exit %d)' % code)
        return code or 1
    unexpected, fixed = verdict(found, read_expected_failures(args.expected_failures))
    for test_id in fixed:
        print('tempest: expected to fail but passed (remove it from %s): %s'
              % (args.expected_failures, test_id))
    for test_id in unexpected:
        print('tempest: unexpected failure: %s' % test_id)
    counts = collections.Counter(status for _t, status, _d in found)
    print('tempest verdict: %d tests passed and %d skipped; of %d failures, %d expected '
          '(unimplemented APIs) and %d unexpected'
          % (counts['success'], counts['skip'], counts['fail'],
             counts['fail'] - len(unexpected), len(unexpected)))
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
