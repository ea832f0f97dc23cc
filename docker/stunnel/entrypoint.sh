#!/bin/sh
# One image, two roles (the first argument); the harness copies the configuration into
# /etc/hh before the container starts.
#   backend  nginx in the foreground, with a few files of different sizes to serve;
#   stunnel  rsyslogd serving /dev/log (when /etc/hh/rsyslog.conf exists), or, when /etc/hh/fifo
#            names a FIFO, hh-log-reader copying that FIFO to /var/log/hh/stunnel.log; then
#            stunnel4 in the foreground, the key-log shim preloaded when HH_TLS_KEYLOG is set;
#   collector  rsyslogd taking forwarded lines over TCP (/etc/hh/collector.conf).
set -e
case "${1:-stunnel}" in
  backend)
    mkdir -p /srv/hh
    head -c 100 /dev/zero | tr '\0' 'a' > /srv/hh/small
    head -c 16384 /dev/zero | tr '\0' 'b' > /srv/hh/medium
    head -c 1048576 /dev/zero | tr '\0' 'c' > /srv/hh/large
    exec nginx -c /etc/hh/nginx.conf -g 'daemon off;'
    ;;
  stunnel)
    mkdir -p /var/log/hh /var/spool/rsyslog
    if [ -f /etc/hh/rsyslog.conf ]; then
      rsyslogd -n -f /etc/hh/rsyslog.conf -i /run/rsyslogd.pid &
      # stunnel logs from its first line on: the socket must be there (bounded wait, 5 s).
      tries=0
      while [ ! -S /dev/log ] && [ "$tries" -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
      [ -S /dev/log ] || { echo "hh-entrypoint: rsyslogd did not create /dev/log" >&2; exit 1; }
    fi
    if [ -f /etc/hh/fifo ]; then
      fifo="$(cat /etc/hh/fifo)"
      mkdir -p "$(dirname "$fifo")"
      mkfifo "$fifo"
      # The reader first: stunnel's open() of a FIFO waits for one. A reader that stops (SIGSTOP)
      # fills the pipe, and stunnel's writes block.
      # It holds a write end too (0<>), so it never reads EOF while stunnel reopens its output
      # (SIGHUP, SIGUSR1): a reopen with no reader would block stunnel, a freeze of our making.
      hh-log-reader 0<>"$fifo" >> /var/log/hh/stunnel.log &
    fi
    if [ -n "${HH_TLS_KEYLOG:-}" ]; then
      mkdir -p "$(dirname "$HH_TLS_KEYLOG")"
      touch "$HH_TLS_KEYLOG"
      export HH_KEYLOG_FILE="$HH_TLS_KEYLOG" LD_PRELOAD=/usr/local/lib/hh-keylog.so
    fi
    unset HH_TLS_KEYLOG
    exec stunnel4 /etc/hh/stunnel.conf
    ;;
  collector)
    mkdir -p /var/log/hh /var/spool/rsyslog
    exec rsyslogd -n -f /etc/hh/collector.conf -i /run/rsyslogd.pid
    ;;
  *)
    exec "$@"
    ;;
esac
