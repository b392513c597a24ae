#!/bin/bash
# mariadb from Debian's package, set up from the environment as the official image does:
#   MARIADB_ROOT_PASSWORD  root's password (root@localhost also logs in over the socket)
#   MARIADB_DATABASE       a database created when missing
#   MARIADB_USER/PASSWORD  a user with every privilege on that database
# The data directory (a named volume) is initialised on the first start only; the accounts are
# (re)applied on every start through --init-file, which the server runs before it accepts
# connections, so a healthy server always has them.
set -euo pipefail
: "${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD}"
: "${MARIADB_DATABASE:?set MARIADB_DATABASE}"

if [ "${1:-}" != mariadbd ]; then exec "$@"; fi
shift

datadir=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$datadir"
if [ ! -d "$datadir/mysql" ]; then
  echo "entrypoint: initialising $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=socket >/dev/null
fi

sql_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }
ident() { printf '`%s`' "$(printf '%s' "$1" | sed 's/`/``/g')"; }
init=/run/mysqld/init.sql
umask 077
{
  echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($(sql_quote "$MARIADB_ROOT_PASSWORD"));"
  echo "CREATE DATABASE IF NOT EXISTS $(ident "$MARIADB_DATABASE");"
  if [ -n "${MARIADB_USER:-}" ]; then
    echo "CREATE USER IF NOT EXISTS $(sql_quote "$MARIADB_USER")@'%';"
    echo "ALTER USER $(sql_quote "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_quote "${MARIADB_PASSWORD:-}");"
    echo "GRANT ALL ON $(ident "$MARIADB_DATABASE").* TO $(sql_quote "$MARIADB_USER")@'%';"
  fi
} >"$init"
chown mysql:mysql "$init"

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --skip-name-resolve \
  --init-file="$init" "$@"
