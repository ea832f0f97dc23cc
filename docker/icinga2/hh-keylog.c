/*
 * hh-keylog: an LD_PRELOAD shim that makes icinga2 write OpenSSL's key-log lines (the
 * SSLKEYLOGFILE format) for every TLS context it creates, so a capture of Icinga's own
 * connections (master to master, agents) can be decrypted. Icinga 2 has no key-log option, and
 * TLS 1.3 (2.13+) encrypts the Certificate messages the field failure is about.
 *
 * It wraps SSL_CTX_new (and SSL_CTX_new_ex on OpenSSL 3), looks the real one up with
 * dlsym(RTLD_NEXT), and sets a key-log callback (OpenSSL >= 1.1.1) on the new context. Each line
 * is appended with one write() to HH_KEYLOG_FILE (O_APPEND: lines of forked workers never
 * interleave), until the file reaches HH_KEYLOG_MAX_BYTES (default 256 MiB): bounded.
 * Built per Debian suite against that suite's own libssl-dev, so the ABI matches.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hh_write_line(const SSL *ssl, const char *line) {
  (void)ssl;
  const char *path = getenv("HH_KEYLOG_FILE");
  if (path == NULL || line == NULL) return;
  const char *max_text = getenv("HH_KEYLOG_MAX_BYTES");
  long long max = max_text ? atoll(max_text) : 256LL * 1024 * 1024;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return;
  struct stat info;
  size_t length = strlen(line);
  char buffer[2048];
  if (fstat(fd, &info) == 0 && info.st_size + (long long)length + 1 <= max && length + 1 <= sizeof buffer) {
    memcpy(buffer, line, length);
    buffer[length] = '\n';
    ssize_t written = write(fd, buffer, length + 1);
    (void)written;
  }
  close(fd);
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
