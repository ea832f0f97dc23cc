#!/bin/sh
# Prepares the runtime directories Debian's init script would create, then runs the command.
# With HH_TLS_KEYLOG set, the command (the daemon) runs with the key-log shim preloaded: set
# here, for the daemon only, so that `docker exec openssl ...` in the container never gets it.
set -e
mkdir -p /run/icinga2/cmd /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chown -R nagios:nagios /run/icinga2 /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chmod 2750 /run/icinga2/cmd
if [ -n "${HH_TLS_KEYLOG:-}" ]; then
  mkdir -p "$(dirname "$HH_TLS_KEYLOG")"
  # The daemon starts as root and its workers run as nagios: both must be able to append.
  touch "$HH_TLS_KEYLOG" && chown nagios:nagios "$HH_TLS_KEYLOG" && chmod 0660 "$HH_TLS_KEYLOG"
  export LD_PRELOAD=/usr/local/lib/hh-keylog.so HH_KEYLOG_FILE="$HH_TLS_KEYLOG"
fi
unset HH_TLS_KEYLOG
exec "$@"
