#!/usr/bin/env bash
# Install what attachd's tests need and run them: `tox -e py3` (unit + functional).
#
# As root on a Debian machine it first installs and starts the services the tests use
# (tools/setup-test-services.sh). Elsewhere those tests skip, unless
# ATTACHD_TEST_REQUIRE_SERVICES=1 is set, which turns every skip for a missing service into a
# failure (CI sets it). Extra arguments go to stestr (a test name regex, say).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    bash tools/setup-test-services.sh
else
    echo "run-tests: not root on Debian; tests needing PostgreSQL, MySQL, RabbitMQ or tgt" \
         "use them only if they already run"
fi

if [ ! -x .venv/bin/tox ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q 'tox>=4.0'
fi

status=0
.venv/bin/tox -e py3 -- "$@" || status=$?

# One plain summary line, whatever the runner printed above.
if [ -d .stestr ]; then
    .venv/bin/python - <<'PY' || true
import re, subprocess
out = subprocess.run(['.tox/py3/bin/stestr', 'last', '--subunit'], capture_output=True)
stats = subprocess.run(['.tox/py3/bin/subunit-stats'], input=out.stdout,
                       capture_output=True).stdout.decode()
def count(name):
    m = re.search(r'%s tests?:\s+(\d+)' % name, stats)
    return int(m.group(1)) if m else 0
print('tests: %d passed, %d failed, %d skipped' % (count('Passed'), count('Failed'),
                                                   count('Skipped')))
# The failed tests by name, so that the tail of a long log says which.
if count('Failed'):
    failing = subprocess.run(['.tox/py3/bin/stestr', 'failing', '--list'],
                             capture_output=True).stdout.decode()
    for name in sorted(set(failing.split())):
        print('failed: %s' % name)
PY
fi
exit $status
