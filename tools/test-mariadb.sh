#!/bin/sh
# A MariaDB server of the test run's own, its data in memory (tmpfs), for .ci/run: the machine's
# mariadbd with the shared server's settings (utf8mb4, utf8mb4_general_ci, the default sql_mode,
# isolation and buffer pool), on 127.0.0.1 and a port of its own. Nothing of the machine's own
# MariaDB is touched: --no-defaults (its my.cnf is not read), our own data directory, socket and
# pid file.
#
# Why: the suite is DDL-heavy. Every test that builds a panel drops and creates its tables again
# (~34 CREATE TABLE and ~75 ALTER TABLE for the module's migrations alone, each waiting for fsyncs
# on a disk; the shared server counted ~64 000 CREATE TABLE in 50 min of a run, other workers'
# tests included). On this machine, under the same load, a migrate
# took 0.8 s in memory against 2.9-5.8 s on the disk-backed shared server. What the suite tests is
# SQL on MariaDB, not the server's own durability (the tests that kill a server start theirs:
# test/support/private-mariadb.ts).
#
#   tools/test-mariadb.sh start DIR PORT   # DIR on tmpfs (e.g. mktemp -d /dev/shm/...)
#   tools/test-mariadb.sh stop DIR
# Exits non-zero with the reason when it cannot start.
set -eu
cmd=${1:?start|stop}
dir=${2:?a directory}
server=/usr/sbin/mariadbd
install=/usr/bin/mariadb-install-db

fail() { echo "test-mariadb: $*" >&2; exit 2; }

if [ "$cmd" = stop ]; then
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$pid" 2>/dev/null || true
  fi
  exit 0
fi

port=${3:?a port}
[ -x "$server" ] || fail "$server is missing (apt-get install mariadb-server)"
[ -x "$install" ] || fail "$install is missing (apt-get install mariadb-server)"
# mariadbd refuses to run as root unless told; as cluster.sh, run it as `mysql` when we are root
if [ "$(id -u)" = 0 ]; then
  runuser=mysql
  id "$runuser" >/dev/null 2>&1 || fail "user mysql is missing (it comes with mariadb-server)"
else
  runuser=$(id -un)
fi
mkdir -p "$dir"
chown "$runuser" "$dir"
"$install" --no-defaults --datadir="$dir/data" --user="$runuser" --skip-test-db --auth-root-authentication-method=normal \
  >"$dir/install.log" 2>&1 || fail "mariadb-install-db failed (see $dir/install.log)"
# the settings the shared server has from Debian's my.cnf (character set, collation, no name
# resolution); everything else is MariaDB's default there as here
"$server" --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 --socket="$dir/sock" \
  --user="$runuser" --pid-file="$dir/pid" --log-error="$dir/error.log" --skip-name-resolve \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci >"$dir/stdout.log" 2>&1 &
i=0
until mariadb -h 127.0.0.1 -P "$port" -u root -e 'select 1' >/dev/null 2>&1; do
  i=$((i+1))
  [ $i -gt 600 ] && fail "the server did not answer on 127.0.0.1:$port in 60 s; see $dir/error.log"
  sleep 0.1
done
