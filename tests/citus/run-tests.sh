#!/usr/bin/env bash
# `make test-citus`: start a coordinator and two workers on loopback (building Citus first when
# it is not installed), run the whole test suite against the coordinator, stop the cluster even
# when the tests fail or are interrupted. Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
PORT=${CITUS_PORT:-55440}
"$here/cluster.sh" start
trap '"$here/cluster.sh" stop' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/hub"
export CITUS_WORKERS="127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))"
"${UV:-uv}" run --frozen pytest "$@"
