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
 * named HH_KEYLOG_FILE (else it reopens). The rotating writer hard-links the full file to
 * <file>.1 through a temporary name and renames a new, empty file (same owner and mode) over
 * <file>: both names always exist, and no writer ever creates the file with the wrong owner.
 * Where rotation cannot work (a folder the workers may not write), lines go on up to twice the
 * size, as one generation plus its old one would, and stop there: bounded either way.
 *
 * Built per Debian suite against that suite's own libssl-dev, so the ABI matches.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
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
/* Reopens after another writer rotated: each means progress elsewhere, yet bounded. */
#define HH_MAX_REOPENS 16
/* The lock is held for one write(); a holder that never lets go (stopped) costs a line, not a hang. */
#define HH_LOCK_TRIES 200
#define HH_LOCK_PAUSE_US 500

/* flock with a deadline: 0 once locked, -1 when it stays taken (or fails) for ~100 ms. */
static int hh_lock(int fd) {
  for (int attempt = 0; attempt < HH_LOCK_TRIES; attempt++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return -1;
    usleep(HH_LOCK_PAUSE_US);
  }
  return -1;
}

/* Makes <path>.1 the full file and <path> a new empty one; 0 on success. Called with the lock held. */
static int hh_rotate(const char *path, const struct stat *full) {
  char old[PATH_MAX];
  char old_next[PATH_MAX];
  char fresh[PATH_MAX];
  if (snprintf(old, sizeof old, "%s.1", path) >= (int)sizeof old ||
      snprintf(old_next, sizeof old_next, "%s.1.new", path) >= (int)sizeof old_next ||
      snprintf(fresh, sizeof fresh, "%s.new", path) >= (int)sizeof fresh)
    return -1;
  /* A leftover of a rotation cut short: O_EXCL below must create, never reuse (protected_regular). */
  unlink(fresh);
  unlink(old_next);
  int fd = open(fresh, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, full->st_mode & 0777);
  if (fd < 0) return -1;
  /* Root may be the one rotating: the workers (nagios) must still be able to append. */
  int ok = (fchown(fd, full->st_uid, full->st_gid) == 0 || getuid() == full->st_uid) &&
           fchmod(fd, full->st_mode & 0777) == 0;
  close(fd);
  if (ok && link(path, old_next) == 0 && rename(old_next, old) == 0 && rename(fresh, path) == 0) return 0;
  unlink(fresh);
  unlink(old_next);
  return -1;
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
  int saved_errno = errno; /* a callback inside OpenSSL must not change what its caller sees */
  int rotation_failed = 0;
  for (int reopen = 0; reopen < HH_MAX_REOPENS; reopen++) {
    /* No O_CREAT: the entrypoint creates the file with the owner every process can write to. */
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) break;
    struct stat mine;
    struct stat named;
    if (hh_lock(fd) != 0 || fstat(fd, &mine) != 0) {
      close(fd);
      break;
    }
    if (stat(path, &named) != 0 || named.st_ino != mine.st_ino || named.st_dev != mine.st_dev) {
      close(fd); /* rotated while we waited for the lock: write to the new file */
      continue;
    }
    long long after = mine.st_size + (long long)length + 1;
    if (after > max && !rotation_failed) {
      if (hh_rotate(path, &mine) == 0) {
        close(fd);
        continue;
      }
      rotation_failed = 1;
      static int warned = 0;
      if (!warned) {
        warned = 1;
        fprintf(stderr, "hh-keylog: cannot rotate %s (%s); its lines go on up to twice its size\n", path,
                strerror(errno));
      }
    }
    if (after <= max || (rotation_failed && after <= 2 * max)) {
      ssize_t written = write(fd, buffer, length + 1);
      (void)written;
    }
    close(fd); /* releases the lock */
    break;
  }
  errno = saved_errno;
}

static SSL_CTX *hh_with_keylog(SSL_CTX *context) {
  if (context != NULL && getenv("HH_KEYLOG_FILE") != NULL) SSL_CTX_set_keylog_callback(context, hh_write_line);
  return context;
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
  static SSL_CTX *(*real)(const SSL_METHOD *) = NULL;
  if (real == NULL) real = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
  if (real == NULL) return NULL; /* no libssl after us (a child with its own): nothing to wrap */
  return hh_with_keylog(real(method));
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *library, const char *properties, const SSL_METHOD *method) {
  static SSL_CTX *(*real)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *) = NULL;
  if (real == NULL)
    real = (SSL_CTX * (*)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new_ex");
  if (real == NULL) return NULL;
  return hh_with_keylog(real(library, properties, method));
}
#endif
