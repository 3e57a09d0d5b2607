# Helpers for suites that need a PostgreSQL server (sourced after lib.sh):
# a cluster made by initdb in the test's temporary directory and run as an
# unprivileged user (nobody) on a unix socket in that directory.
#   pg_init             initdb (sets PG, the cluster's directory and socket
#                       directory); non-zero when the server binaries are
#                       missing (apt install postgresql)
#   pg_start, pg_stop [MODE]   start / stop it (MODE fast or immediate: a
#                       crash, WAL not flushed); pg_init arranges a stop at exit
#   pg_url SCHEMA       a store URL of database vantage, that schema
#   pg_sql SQL          run SQL in database vantage, unaligned output
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG=$TMP/pg
as_pg() { runuser -u nobody -- "$@"; }
pg_init() {
	[ -x "$PGBIN/initdb" ] || return 1
	chmod 755 "$TMP"
	mkdir -p "$PG"
	chown nobody "$PG"
	as_pg "$PGBIN/initdb" -D "$PG/data" -U vantage --auth=trust -E UTF8 -N >/dev/null || return 1
	on_exit "runuser -u nobody -- $PGBIN/pg_ctl -D $PG/data -m immediate stop"
}
pg_start() { as_pg "$PGBIN/pg_ctl" -D "$PG/data" -o "-k $PG -c listen_addresses=''" -l "$PG/log" -w start -s; }
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m "${1:-fast}" stop -s; }
pg_url() { echo "postgres:///vantage?host=$PG&user=vantage&schema=$1"; }
pg_sql() { "$PGBIN/psql" -h "$PG" -U vantage -d vantage -XAtqc "$1"; }
