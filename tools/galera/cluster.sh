#!/bin/sh
# A 3-node MariaDB Galera cluster on loopback for the Galera checks (issue 22), from Debian's
# packages: mariadb-server and galera-4 (/usr/lib/galera/libgalera_smm.so). Three mariadbd with
# their own data directories and ports; the first bootstraps the cluster, the others join it by
# rsync state transfer (SST). Nothing of the machine's own MariaDB is touched: --no-defaults (its
# my.cnf is not read), our own data directories, sockets and pid files, 127.0.0.1 on high ports.
#
# The nodes run as a non-root user: `mysql` when the script runs as root, else the caller. Run as
# root, the joiner's wsrep_sst_rsync starts an rsync daemon whose config has no `uid`, so rsync
# drops to `nobody` and cannot write the root-owned data directory ("cannot stat destination:
# Permission denied", the donor then reports "Unknown error 255"). As `mysql`, owning its data
# directory, the daemon keeps that user and the transfer works as designed. (The 'skip' method
# does not do: a joiner still waits for an IST of the bootstrap's writes and stalls.)
#
#   tools/galera/cluster.sh start DIR BASEPORT   # SQL ports BASEPORT+1..3, galera +11..13, SST +21..23, IST +31..33
#   tools/galera/cluster.sh stop DIR
# Exits non-zero with the reason when Galera cannot run here.
set -eu
cmd=${1:?start|stop}
dir=${2:?a directory}
provider=/usr/lib/galera/libgalera_smm.so
server=/usr/sbin/mariadbd
install=/usr/bin/mariadb-install-db

fail() { echo "galera: $*" >&2; exit 2; }

if [ "$cmd" = stop ]; then
  for n in 3 2 1; do
    if [ -f "$dir/n$n/pid" ]; then kill "$(cat "$dir/n$n/pid")" 2>/dev/null || true; fi
  done
  for n in 3 2 1; do
    i=0
    while [ -f "$dir/n$n/pid" ] && kill -0 "$(cat "$dir/n$n/pid")" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
    if [ -f "$dir/n$n/pid" ]; then kill -9 "$(cat "$dir/n$n/pid")" 2>/dev/null || true; fi
  done
  exit 0
fi

base=${3:?a base port}
[ -x "$server" ] || fail "$server is missing (apt-get install mariadb-server)"
[ -f "$provider" ] || fail "$provider is missing (apt-get install galera-4)"
command -v rsync >/dev/null || fail "rsync is missing: joining nodes receive their state by rsync (apt-get install rsync)"

# the user the nodes run as, and who owns DIR (mariadbd switches to it when started by root)
if [ "$(id -u)" = 0 ]; then
  runuser=mysql
  id "$runuser" >/dev/null 2>&1 || fail "user mysql is missing (it comes with mariadb-server)"
else
  runuser=$(id -un)
fi
addr="gcomm://127.0.0.1:$((base+11)),127.0.0.1:$((base+12)),127.0.0.1:$((base+13))"
mkdir -p "$dir"
# the user must reach DIR (mktemp -d makes it 0700, root's) and own everything under it
chown "$runuser" "$dir"
node() {
  n=$1
  d="$dir/n$n"
  mkdir -p "$d"
  chown "$runuser" "$d"
  [ -d "$d/data/mysql" ] || "$install" --no-defaults --datadir="$d/data" --user="$runuser" --skip-test-db --auth-root-authentication-method=normal >"$d/install.log" 2>&1 || fail "mariadb-install-db failed for node $n (see $d/install.log)"
  # node 1 bootstraps the cluster; it also serves the checks' own reads, causally
  # (wsrep_sync_wait=1: a read waits for what other nodes committed before it). Nodes 2 and 3 keep
  # Galera's default (0), as a panel's cluster would: the add-on must not need causal reads.
  extra="--wsrep-sync-wait=0"
  [ "$n" = 1 ] && extra="--wsrep-new-cluster --wsrep-sync-wait=1"
  "$server" --no-defaults --datadir="$d/data" --port=$((base+n)) --bind-address=127.0.0.1 --socket="$d/sock" \
    --user="$runuser" --skip-grant-tables --pid-file="$d/pid" --log-error="$d/error.log" --innodb-buffer-pool-size=64M \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 --innodb-flush-log-at-trx-commit=0 \
    --wsrep-on=ON --wsrep-provider="$provider" --wsrep-cluster-name=overusage-check --wsrep-cluster-address="$addr" \
    --wsrep-node-name="n$n" --wsrep-node-address="127.0.0.1:$((base+10+n))" --wsrep-sst-method=rsync \
    --wsrep-sst-receive-address="127.0.0.1:$((base+20+n))" \
    --wsrep-provider-options="base_port=$((base+10+n));gmcast.listen_addr=tcp://127.0.0.1:$((base+10+n));ist.recv_addr=127.0.0.1:$((base+30+n));pc.weight=1" \
    $extra >"$d/stdout.log" 2>&1 &
  # wait until the node says it is synced with the cluster
  i=0
  while :; do
    st=$(mariadb -h 127.0.0.1 -P $((base+n)) -u root -N -e "show status like 'wsrep_local_state_comment'" 2>/dev/null | cut -f2 || true)
    [ "$st" = Synced ] && break
    i=$((i+1))
    [ $i -gt 600 ] && fail "node $n did not reach Synced in 60 s (last state: ${st:-no answer}); see $d/error.log"
    sleep 0.1
  done
}
node 1
node 2
node 3
size=$(mariadb -h 127.0.0.1 -P $((base+1)) -u root -N -e "show status like 'wsrep_cluster_size'" | cut -f2)
[ "$size" = 3 ] || fail "the cluster has $size nodes, not 3"
echo "galera: 3 nodes synced on 127.0.0.1 ports $((base+1)) $((base+2)) $((base+3))"
