#!/usr/bin/env bash
# Makes sure a local 3-master Redis Cluster runs on 127.0.0.1:7000-7002, for
# the redisstore tests (internal/testenv.DefaultRedisCluster). Idempotent:
# running nodes are kept, and the cluster is created only when it is not
# formed yet. Each node keeps its files under /tmp/sesame-redis-cluster/PORT
# and persists nothing but its cluster config (--save "" --appendonly no).
# .ci/services.sh runs it after installing redis-server.
set -euo pipefail

base=/tmp/sesame-redis-cluster
ports=(7000 7001 7002)
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
# info PORT FIELD prints FIELD of the node's CLUSTER INFO.
info() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

command -v redis-server >/dev/null || { echo "redis-cluster: redis-server not installed" >&2; exit 1; }

for port in "${ports[@]}"; do
  if cli "$port" ping >/dev/null 2>&1; then continue; fi
  dir="$base/$port"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" \
    --save "" --appendonly no
done
for port in "${ports[@]}"; do
  for _ in $(seq 50); do cli "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  if ! cli "$port" info cluster 2>/dev/null | grep -q '^cluster_enabled:1'; then
    echo "redis-cluster: 127.0.0.1:$port is not a cluster-enabled Redis" >&2
    exit 1
  fi
done

# formed reports whether every node knows the 3 nodes and all slots are served.
formed() {
  for port in "${ports[@]}"; do
    [ "$(info "$port" cluster_known_nodes)" = 3 ] && [ "$(info "$port" cluster_slots_assigned)" = 16384 ] || return 1
  done
}

if ! formed; then
  for port in "${ports[@]}"; do
    if [ "$(info "$port" cluster_known_nodes)" != 1 ] || [ "$(info "$port" cluster_slots_assigned)" != 0 ]; then
      # Half-formed (for example one node restarted with a fresh config):
      # start over. The nodes hold only test data.
      cli "$port" flushall >/dev/null
      cli "$port" cluster reset hard >/dev/null
    fi
  done
  redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 \
    --cluster-replicas 0 --cluster-yes >/dev/null
fi

for port in "${ports[@]}"; do
  for _ in $(seq 300); do [ "$(info "$port" cluster_state)" = ok ] && break; sleep 0.1; done
  if [ "$(info "$port" cluster_state)" != ok ]; then
    echo "redis-cluster: 127.0.0.1:$port: cluster_state is not ok" >&2
    cli "$port" cluster info >&2 || true
    exit 1
  fi
done
echo "redis cluster: ok (127.0.0.1:7000-7002)"
