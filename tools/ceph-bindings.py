"""Make Debian's rados and rbd Python bindings importable by this interpreter (a virtualenv).

python3-rados and python3-rbd install compiled modules for Debian's /usr/bin/python3 in
/usr/lib/python3/dist-packages; they are not on PyPI. A virtualenv of the same CPython
minor version (the same extension suffix, e.g. ``.cpython-311-x86_64-linux-gnu.so``) can
load them, but adding all of dist-packages to it would also shadow its own packages with
Debian's. So this links just the two modules into a directory of their own,
``<site-packages>/attachd-ceph-bindings``, and puts that directory on the path with a
``.pth`` file.

Run with the virtualenv's interpreter (tox does, before the tests). Idempotent. When the
packages are missing, or built for another Python, it removes what an earlier run made, says
why, and exits 0: the rbd driver's tests then skip (or fail under
ATTACHD_TEST_REQUIRE_SERVICES=1).
"""

import os
import shutil
import sys
import sysconfig

DIST_PACKAGES = '/usr/lib/python3/dist-packages'
MODULES = ('rados', 'rbd')
NAME = 'attachd-ceph-bindings'


def main():
    site = sysconfig.get_paths()['purelib']
    target = os.path.join(site, NAME)
    pth = os.path.join(site, NAME + '.pth')
    suffix = sysconfig.get_config_var('EXT_SUFFIX')
    sources = [os.path.join(DIST_PACKAGES, module + suffix) for module in MODULES]
    missing = [path for path in sources if not os.path.exists(path)]
    if missing:
        shutil.rmtree(target, ignore_errors=True)
        if os.path.exists(pth):
            os.unlink(pth)
        print('ceph-bindings: %s missing (Debian packages python3-rados, python3-rbd for '
              'this Python, %s); rbd driver unavailable' % (', '.join(missing), suffix))
        return 0
    os.makedirs(target, exist_ok=True)
    for source in sources:
        link = os.path.join(target, os.path.basename(source))
        if os.path.islink(link) or os.path.exists(link):
            os.unlink(link)
        os.symlink(source, link)
    with open(pth, 'w') as f:
        f.write(target + '\n')
    print('ceph-bindings: %s linked into %s' % (', '.join(MODULES), target))
    return 0


if __name__ == '__main__':
    sys.exit(main())
