#!/usr/bin/env bash
# A Citus cluster on loopback for `make test-citus`: a coordinator and two workers.
#   cluster.sh build   - use the Citus installed for the PostgreSQL found, else build it from
#                        $CITUS_SOURCE (default ../shared/vendor/citus-13.2.2.tar.gz) and install it
#   cluster.sh start   - initialise (once) and start the three nodes as an unprivileged user
#   cluster.sh stop    - stop them (safe to call when they are not running)
# Ports: CITUS_PORT (coordinator, default 55440), +1 and +2 for the workers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)

PG_CONFIG=${PG_CONFIG:-$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -1)}
[ -x "${PG_CONFIG:-}" ] || PG_CONFIG=$(command -v pg_config || true)
[ -x "${PG_CONFIG:-}" ] || { echo "No PostgreSQL server found (pg_config): install postgresql-15 and postgresql-server-dev-15." >&2; exit 1; }
BINDIR=$("$PG_CONFIG" --bindir)
PORT=${CITUS_PORT:-55440}
DATA=${CITUS_DATA:-/tmp/hub-citus-$(id -u)-$PORT}
SOURCE=${CITUS_SOURCE:-$project/../shared/vendor/citus-13.2.2.tar.gz}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# PostgreSQL refuses to run as root: as root, the nodes run as the `postgres` system user.
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  RUN_AS=(runuser -u postgres --)
fi

installed() { [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] && [ -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ]; }

build() {
  if installed; then echo "Citus is installed for $("$PG_CONFIG" --version)."; return; fi
  [ -e "$SOURCE" ] || { echo "Citus is not installed and its source is missing: set CITUS_SOURCE (a tarball or a directory)." >&2; exit 1; }
  local work; work=$(mktemp -d)
  if [ -d "$SOURCE" ]; then cp -r "$SOURCE/." "$work/"; else tar -xzf "$SOURCE" -C "$work" --strip-components=1; fi
  # PostgreSQL 15.20 exports have_createdb_privilege(), which Citus's compatibility header
  # also defines for versions below 16: rename Citus's copy.
  local compat="$work/src/include/pg_version_compat.h"
  if [ -f "$compat" ] && ! grep -q citus_compat_have_createdb_privilege "$compat"; then
    perl -0pi -e 's/static inline bool\nhave_createdb_privilege\(void\)/#define have_createdb_privilege citus_compat_have_createdb_privilege\nstatic inline bool\nhave_createdb_privilege(void)/' "$compat"
  fi
  echo "Building Citus from $SOURCE (about a minute)..."
  (cd "$work" && ./configure --quiet PG_CONFIG="$PG_CONFIG" >/dev/null \
    && make -s -j"$(nproc)" with_llvm=no >/dev/null && $SUDO make -s install with_llvm=no >/dev/null) \
    || { rm -rf "$work"; echo "Citus build failed." >&2; exit 1; }
  rm -rf "$work"
  installed || { echo "Citus build finished but citus.so is not installed." >&2; exit 1; }
  echo "Citus installed."
}

node_dir() { echo "$DATA/node$1"; }

start() {
  build
  mkdir -p "$DATA"
  [ -n "${RUN_AS[*]}" ] && chown postgres "$DATA"
  for n in 0 1 2; do
    local dir; dir=$(node_dir $n)
    if [ ! -f "$dir/PG_VERSION" ]; then
      "${RUN_AS[@]}" "$BINDIR/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >> "$dir/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $((PORT + n))
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
max_prepared_transactions = 200
citus.shard_count = 32
CONF
    fi
    if "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$dir" status >/dev/null 2>&1; then continue; fi
    "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
  done
  echo "Citus cluster up: coordinator 127.0.0.1:$PORT, workers :$((PORT + 1)) :$((PORT + 2)) (data in $DATA)."
}

stop() {
  for n in 0 1 2; do
    local dir; dir=$(node_dir $n)
    if [ -f "$dir/postmaster.pid" ]; then
      "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || true
    fi
  done
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  destroy) stop; rm -rf "$DATA" ;;
  *) echo "usage: $0 build|start|stop|destroy" >&2; exit 2 ;;
esac
