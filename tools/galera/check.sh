#!/bin/sh
# npm run test:galera: starts the 3-node loopback cluster (tools/galera/cluster.sh) and runs the
# concurrency suites against it (databases created on node 1, replicated to the others). Exits 2
# with the reason when the cluster cannot run here; never reports success without a cluster.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/overusage-galera-XXXXXX)
base=${OVERUSAGE_GALERA_BASE_PORT:-41300}
trap '"$here/tools/galera/cluster.sh" stop "$dir"; rm -rf "$dir"' EXIT
"$here/tools/galera/cluster.sh" start "$dir" "$base" || { echo "galera: no cluster, no check (docs/galera.md says why)" >&2; exit 2; }
# databases are made and checked on node 1; the suites send their other writers to nodes 2 and 3
nodes="127.0.0.1:$((base+1)),127.0.0.1:$((base+2)),127.0.0.1:$((base+3))"
cd "$here" && OVERUSAGE_TEST_MYSQL_URL="mysql://root@127.0.0.1:$((base+1))/" OVERUSAGE_TEST_REQUIRE_MYSQL=1 OVERUSAGE_TEST_GALERA_NODES="$nodes" \
  npx mocha test/adapters/galera-rules.test.ts test/services/collect-shared.test.ts test/services/collect-crash.test.ts test/services/retention.test.ts test/services/galera-writers.test.ts
rc=$?
# what the cluster went through: write-sets that lost certification, local transactions aborted
# by a replicated one, and commits, per node (docs/galera.md quotes them)
for n in 1 2 3; do
  mariadb -h 127.0.0.1 -P $((base+n)) -u root -N -e "show global status where variable_name in ('wsrep_local_cert_failures','wsrep_local_bf_aborts','wsrep_local_commits')" 2>/dev/null |
    awk -v n="$n" '{ v[$1] = $2 } END { printf "galera: node %s: %s commits, %s certification failures, %s aborted by replication\n", n, v["wsrep_local_commits"], v["wsrep_local_cert_failures"], v["wsrep_local_bf_aborts"] }'
done
exit $rc
