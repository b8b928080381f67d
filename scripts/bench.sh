#!/usr/bin/env bash
# Runs bench/run.ts on a control plane of its own, started fresh for the run
# and removed after it (.bench-cluster/, ports 36440+). What earlier runs left
# behind (etcd's history, the API server's caches and heap, the garbage
# collector's work) slowed the API server measurably (the minimum-work client
# at 10,000: 32 s on a fresh control plane, 43-48 s after three runs), and
# would be measured too. A dev cluster (make dev-up) is left alone.
#   bench.sh [bench/run.ts options]
#   BENCH_SCRIPT=bench/events.ts bench.sh [its options]   (make bench-events)
source "$(dirname "$0")/lib.sh"
export SECRETSYNC_STATE="${SECRETSYNC_BENCH_STATE:-$ROOT/.bench-cluster}"
export CP_PORT_BASE="${BENCH_PORT_BASE:-36440}"
export KUBECONFIG="$SECRETSYNC_STATE/kubeconfig"
cp="$ROOT/scripts/control-plane.sh"
bash "$cp" down
bash "$cp" up
status=0
tsx "$ROOT/${BENCH_SCRIPT:-bench/run.ts}" "$@" || status=$?
bash "$cp" down
exit $status
