#!/usr/bin/env bash
# Make sure the services attachd's tests use are installed, running and provisioned on this Debian
# machine: PostgreSQL, MariaDB and RabbitMQ (installed with apt when missing, started if down), the
# openstack_citest account that oslo.db's opportunistic fixtures log in with, and the iSCSI target
# (tgt) with userspace initiator tools; Ceph's monitor, OSD, command-line tools and Python
# bindings, from which the rbd driver's tests start private single-node clusters
# (attachd/tests/functional/ceph.py; nothing of Ceph runs between test runs).
# The accounts are made as a stock Debian install allows it, without trust authentication or a
# passwordless database root over TCP: PostgreSQL as the postgres OS user over the local socket
# (peer authentication), MariaDB as root over its socket (unix_socket authentication).
# Idempotent; needs root. Used by .ci/run and safe to run by hand.
set -eu

log() { echo "setup-test-services: $*"; }

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
# nginx: the front proxy configuration of etc/attachd is tested with Debian's nginx.
# memcached: the install guide's test starts one of its own (the package's stays stopped).
for pkg in postgresql mariadb-server mariadb-client rabbitmq-server \
           tgt libiscsi-bin qemu-utils qemu-block-extra nginx memcached \
           ceph-mon ceph-osd ceph-common python3-rados python3-rbd; do
    have_pkg "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The tests start their own nginx and memcached; the packages must not start the
    # system's.
    no_start=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        no_start=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$no_start" ] || rm -f /usr/sbin/policy-rc.d
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    local port=$1 name=$2
    for _ in $(seq 1 60); do
        port_open "$port" && return 0
        sleep 1
    done
    log "$name did not come up on port $port"
    return 1
}

if ! port_open 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! port_open 3306; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
if ! port_open 5672; then
    log "starting RabbitMQ"
    rabbitmq-server -detached || true
fi
wait_port 5432 PostgreSQL
wait_port 3306 MariaDB
wait_port 5672 RabbitMQ

# oslo.db's opportunistic fixtures connect as openstack_citest and create one database per test.
as_postgres() { runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
as_postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'openstack_citest') THEN
        CREATE ROLE openstack_citest LOGIN PASSWORD 'openstack_citest' CREATEDB;
    ELSE
        ALTER ROLE openstack_citest LOGIN PASSWORD 'openstack_citest' CREATEDB;
    END IF;
END
$$;
SQL
if ! as_postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'openstack_citest'" \
        | grep -q 1; then
    as_postgres -c "CREATE DATABASE openstack_citest OWNER openstack_citest"
fi

# No -h: the socket, where Debian's root@localhost authenticates as the OS user root.
mysql --user=root <<'SQL'
CREATE USER IF NOT EXISTS 'openstack_citest'@'%' IDENTIFIED BY 'openstack_citest';
CREATE USER IF NOT EXISTS 'openstack_citest'@'localhost' IDENTIFIED BY 'openstack_citest';
GRANT ALL PRIVILEGES ON *.* TO 'openstack_citest'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'openstack_citest'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS openstack_citest;
FLUSH PRIVILEGES;
SQL

# The race tests send 64 requests at once through one in-process API, each thread holding
# a connection (attachd keeps one per thread), and stestr runs two such processes at a
# time: MariaDB's default of 151 connections was once exceeded ("Too many connections").
# Until MariaDB restarts; raised only, never lowered.
if [ "$(mysql --user=root -N -e 'SELECT @@GLOBAL.max_connections')" -lt 500 ]; then
    mysql --user=root -e 'SET GLOBAL max_connections = 500'
fi

log "PostgreSQL, MariaDB, RabbitMQ ready; openstack_citest provisioned; tgt $(tgtadm --version 2>/dev/null || echo installed); $(ceph --version | cut -d' ' -f1-3)"
