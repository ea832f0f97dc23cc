#!/bin/sh
# Prepares the runtime directories Debian's init script would create, then runs the command.
# With HH_TLS_KEYLOG set, the command (the daemon) runs with the key-log shim preloaded; with
# HH_CERT_FAULT set (trigger, worker, umbrella), with the certificate-fault shim: both set here,
# for the daemon only, so that `docker exec openssl ...` in the container never gets them.
set -e
mkdir -p /run/icinga2/cmd /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chown -R nagios:nagios /run/icinga2 /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chmod 2750 /run/icinga2/cmd
if [ -n "${HH_TLS_KEYLOG:-}" ]; then
  mkdir -p "$(dirname "$HH_TLS_KEYLOG")"
  # The daemon starts as root and its workers run as nagios: both must be able to append.
  touch "$HH_TLS_KEYLOG" && chown nagios:nagios "$HH_TLS_KEYLOG" && chmod 0660 "$HH_TLS_KEYLOG"
  export HH_KEYLOG_FILE="$HH_TLS_KEYLOG"
  PRELOAD="/usr/local/lib/hh-keylog.so"
fi
if [ -n "${HH_CERT_FAULT:-}" ]; then
  # The workers (nagios) write the umbrella latch beside the trigger the harness creates.
  mkdir -p /var/lib/hh-fault && chmod 1777 /var/lib/hh-fault
  PRELOAD="${PRELOAD:+$PRELOAD }/usr/local/lib/hh-certfault.so"
fi
if [ -n "${PRELOAD:-}" ]; then export LD_PRELOAD="$PRELOAD"; fi
unset HH_TLS_KEYLOG PRELOAD
exec "$@"
