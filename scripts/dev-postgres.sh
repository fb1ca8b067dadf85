#!/usr/bin/env bash
# A throwaway local PostgreSQL server for trying the shop on PostgreSQL by
# hand, from the server programs installed on this machine (no container):
#
#   scripts/dev-postgres.sh start [DIR] [PORT]   # prints the server URL
#   go run ./cmd/shop -postgres "$(scripts/dev-postgres.sh url [DIR])"
#   scripts/dev-postgres.sh stop [DIR]           # stops it, deletes DIR
#
# DIR defaults to ${TMPDIR:-/tmp}/kitshop-dev-postgres, PORT to 55432. The
# server listens on 127.0.0.1 only, with trust authentication for the role
# "postgres": for local use, never on a shared host. As root it runs as the
# "postgres" OS user (the server refuses root). The tests do not need this:
# they start their own server (internal/pgtest).
set -euo pipefail

cmd=${1:-}
dir=$(realpath -m "${2:-${TMPDIR:-/tmp}/kitshop-dev-postgres}")
port=${3:-55432}

bindir() {
	if [[ -n ${KITSHOP_TEST_POSTGRES_BIN:-} ]]; then echo "$KITSHOP_TEST_POSTGRES_BIN"; return; fi
	if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
	if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -x $d/initdb ]]; then echo "$d"; return; fi
	echo "dev-postgres: no PostgreSQL server programs (initdb, postgres) found; install them (apt-get install postgresql) or set KITSHOP_TEST_POSTGRES_BIN" >&2
	exit 1
}

# as_server runs a command as the server's OS user.
as_server() {
	# From /: the caller's directory may be closed to that user.
	if [[ $(id -u) == 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/?sslmode=disable"; }

case $cmd in
start)
	bin=$(bindir)
	if [[ -f $dir/data/postmaster.pid ]]; then
		echo "dev-postgres: already running in $dir" >&2
		url
		exit 0
	fi
	mkdir -p "$dir"
	if [[ $(id -u) == 0 ]]; then chown postgres: "$dir"; fi
	if [[ ! -f $dir/data/PG_VERSION ]]; then
		as_server "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	echo "$port" >"$dir/port"
	as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
		-o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >/dev/null ||
		{ tail -n 20 "$dir/postgres.log" >&2; exit 1; }
	url
	;;
url)
	url
	;;
restart)
	as_server "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w restart -l "$dir/postgres.log" \
		-o "-p $(cat "$dir/port") -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" >/dev/null
	url
	;;
stop)
	if [[ -f $dir/data/postmaster.pid ]]; then
		as_server "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	rm -rf "$dir"
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
