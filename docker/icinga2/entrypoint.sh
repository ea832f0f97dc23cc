#!/bin/sh
# Prepares the runtime directories Debian's init script would create, then runs the command.
# With HH_TLS_KEYLOG set, the command (the daemon) runs with the key-log shim preloaded; with
# HH_CERT_FAULT set (trigger, worker, umbrella), with the certificate-fault shim: both set here,
# for the daemon only, so that `docker exec openssl ...` in the container never gets them.
set -e
# The daemon's user: Debian's builds run as nagios, Icinga's own packages as icinga (a user's
# image layered by docker/icinga2-layer).
user=nagios
id nagios >/dev/null 2>&1 || user=$(id -un icinga 2>/dev/null || echo root)
mkdir -p /run/icinga2/cmd /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chown -R "$user:$user" /run/icinga2 /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chmod 2750 /run/icinga2/cmd
if [ -n "${HH_TLS_KEYLOG:-}" ]; then
  mkdir -p "$(dirname "$HH_TLS_KEYLOG")"
  # The daemon starts as root and its workers run as $user: both must be able to append.
  touch "$HH_TLS_KEYLOG" && chown "$user:$user" "$HH_TLS_KEYLOG" && chmod 0660 "$HH_TLS_KEYLOG"
  export HH_KEYLOG_FILE="$HH_TLS_KEYLOG"
  PRELOAD="/usr/local/lib/hh-keylog.so"
fi
if [ -n "${HH_CERT_FAULT:-}" ]; then
  # The workers ($user) write the umbrella latch beside the trigger the harness creates.
  mkdir -p /var/lib/hh-fault && chmod 1777 /var/lib/hh-fault
  PRELOAD="${PRELOAD:+$PRELOAD }/usr/local/lib/hh-certfault.so"
fi
if [ -n "${PRELOAD:-}" ]; then export LD_PRELOAD="$PRELOAD"; fi
unset HH_TLS_KEYLOG PRELOAD
exec "$@"
