/*
 * hh-keylog: an LD_PRELOAD shim that makes icinga2 write OpenSSL's key-log lines (the
 * SSLKEYLOGFILE format) for every TLS context it creates, so a capture of Icinga's own
 * connections (master to master, agents) can be decrypted. Icinga 2 has no key-log option, and
 * TLS 1.3 (2.13+) encrypts the Certificate messages the field failure is about.
 *
 * It wraps SSL_CTX_new (and SSL_CTX_new_ex on OpenSSL 3), looks the real one up with
 * dlsym(RTLD_NEXT), and sets a key-log callback (OpenSSL >= 1.1.1) on the new context. Each line
 * is appended with one write() to HH_KEYLOG_FILE (O_APPEND). The file is rotated like the
 * harness's own key logs: past HH_KEYLOG_MAX_BYTES (default 128 MiB) it becomes <file>.1 (one
 * old generation kept) and a new file starts, so an overnight soak keeps the recent secrets
 * instead of losing every later one once a fixed cap is reached.
 *
 * The daemon's processes (root, and workers forked as nagios) all write, so rotation is guarded:
 * a writer holds flock() on the file it opened, and writes only if that file still is the one
 * named HH_KEYLOG_FILE (else it reopens). The rotating writer links the full file to <file>.1
 * and renames a new, empty file (same owner and mode) over the name, so the name always exists
 * and no writer ever creates it with the wrong owner.
 * Built per Debian suite against that suite's own libssl-dev, so the ABI matches.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HH_DEFAULT_MAX_BYTES (128LL * 1024 * 1024)
/* A writer that finds the file rotated under it reopens; bounded, so a line is dropped, never looped on. */
#define HH_MAX_ATTEMPTS 4

/* The full file becomes <path>.1, an empty one with the same owner and mode takes its name. */
static void hh_rotate(const char *path, const struct stat *full) {
  char old[PATH_MAX];
  char fresh[PATH_MAX];
  if (snprintf(old, sizeof old, "%s.1", path) >= (int)sizeof old) return;
  if (snprintf(fresh, sizeof fresh, "%s.new", path) >= (int)sizeof fresh) return;
  int fd = open(fresh, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, full->st_mode & 0777);
  if (fd < 0) return;
  /* Root may be the one rotating: the workers (nagios) must still be able to append. */
  int owned = fchown(fd, full->st_uid, full->st_gid) == 0 || getuid() == full->st_uid;
  int moded = fchmod(fd, full->st_mode & 0777) == 0;
  close(fd);
  if (!owned || !moded) {
    unlink(fresh);
    return;
  }
  unlink(old);
  if (link(path, old) != 0 || rename(fresh, path) != 0) unlink(fresh);
}

static void hh_write_line(const SSL *ssl, const char *line) {
  (void)ssl;
  const char *path = getenv("HH_KEYLOG_FILE");
  if (path == NULL || line == NULL) return;
  const char *max_text = getenv("HH_KEYLOG_MAX_BYTES");
  long long max = max_text ? atoll(max_text) : HH_DEFAULT_MAX_BYTES;
  char buffer[2048];
  size_t length = strlen(line);
  if (length + 1 > sizeof buffer || (long long)length + 1 > max) return;
  memcpy(buffer, line, length);
  buffer[length] = '\n';
  for (int attempt = 0; attempt < HH_MAX_ATTEMPTS; attempt++) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    struct stat mine;
    struct stat named;
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &mine) != 0) {
      close(fd);
      return;
    }
    if (stat(path, &named) != 0 || named.st_ino != mine.st_ino || named.st_dev != mine.st_dev) {
      close(fd); /* rotated while we waited for the lock: write to the new file */
      continue;
    }
    if (mine.st_size + (long long)length + 1 > max) {
      hh_rotate(path, &mine);
      close(fd);
      continue;
    }
    ssize_t written = write(fd, buffer, length + 1);
    (void)written;
    close(fd); /* releases the lock */
    return;
  }
}

static SSL_CTX *hh_with_keylog(SSL_CTX *context) {
  if (context != NULL && getenv("HH_KEYLOG_FILE") != NULL) SSL_CTX_set_keylog_callback(context, hh_write_line);
  return context;
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
  static SSL_CTX *(*real)(const SSL_METHOD *) = NULL;
  if (real == NULL) real = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
  return hh_with_keylog(real(method));
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *library, const char *properties, const SSL_METHOD *method) {
  static SSL_CTX *(*real)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *) = NULL;
  if (real == NULL)
    real = (SSL_CTX * (*)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new_ex");
  return hh_with_keylog(real(library, properties, method));
}
#endif
