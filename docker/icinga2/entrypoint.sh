#!/bin/sh
# Prepares the runtime directories Debian's init script would create, then runs the command.
set -e
mkdir -p /run/icinga2/cmd /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chown -R nagios:nagios /run/icinga2 /var/lib/icinga2 /var/log/icinga2 /var/cache/icinga2
chmod 2750 /run/icinga2/cmd
exec "$@"
