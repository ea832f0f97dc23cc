/*
 * hh-certfault: an LD_PRELOAD shim that gives the daemon's TLS objects a tiny max_cert_list,
 * so OpenSSL refuses every peer's Certificate message with "excessive message size" and sends
 * alert 47 (illegal parameter): the field signature, on purpose and on a switch. OpenSSL bounds
 * the Certificate message it reads by max_cert_list, on the server side (the client's chain) and
 * the client side (the server's), in TLS 1.2 and 1.3 alike.
 *
 * It is applied per SSL object, at SSL_new, SSL_accept, SSL_connect and SSL_do_handshake:
 * Icinga 2.12.3 creates the SSL object before it accepts, so a switch on the context alone would
 * act one connection late. Where the fault is off again, an object it had shrunk gets its
 * context's limit back.
 *
 * HH_CERT_FAULT picks when the fault is on (the trigger is the file HH_CERT_FAULT_TRIGGER,
 * default /var/lib/hh-fault/trigger, which the harness creates and removes):
 *   trigger   while the trigger file exists;
 *   worker    from the moment a process sees the trigger until it exits: latched in the worker,
 *             so the next reload's new worker (forked from the umbrella, which does no TLS) is clean;
 *   umbrella  latched for the umbrella process: its pid and start time go into <trigger>.latched,
 *             and every worker of that umbrella is faulty, across reloads, until a restart.
 * Preloaded by the entrypoint on its own switch, so it works with or without the key-log shim.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smaller than any certificate: every Certificate message is "excessive". */
#define HH_TINY_CERT_LIST 64L

static int hh_latched = 0;

static const char *hh_trigger(void) {
  const char *path = getenv("HH_CERT_FAULT_TRIGGER");
  return path != NULL ? path : "/var/lib/hh-fault/trigger";
}

static int hh_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* "<pid> <start time>" of this process's parent (the umbrella): a restart makes a new one. */
static int hh_umbrella_key(char *out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)getppid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char stat_line[1024];
  ssize_t length = read(fd, stat_line, sizeof stat_line - 1);
  close(fd);
  if (length <= 0) return -1;
  stat_line[length] = '\0';
  char *field = strrchr(stat_line, ')');
  if (field == NULL) return -1;
  /* After the command's ") " the fields count from 3; the start time is field 22. */
  int number = 2;
  char *save = NULL;
  for (char *token = strtok_r(field + 1, " ", &save); token != NULL; token = strtok_r(NULL, " ", &save)) {
    if (++number == 22) {
      snprintf(out, size, "%d %s\n", (int)getppid(), token);
      return 0;
    }
  }
  return -1;
}

static int hh_umbrella_latched(int triggered) {
  char key[96];
  char latch[PATH_MAX];
  if (hh_umbrella_key(key, sizeof key) != 0) return triggered;
  if (snprintf(latch, sizeof latch, "%s.latched", hh_trigger()) >= (int)sizeof latch) return triggered;
  if (triggered) {
    int fd = open(latch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ssize_t written = write(fd, key, strlen(key));
      (void)written;
      close(fd);
    }
    return 1;
  }
  char seen[96] = {0};
  int fd = open(latch, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, seen, sizeof seen - 1);
  close(fd);
  return length > 0 && strcmp(seen, key) == 0;
}

static int hh_fault_on(void) {
  const char *mode = getenv("HH_CERT_FAULT");
  if (mode == NULL) return 0;
  int triggered = hh_exists(hh_trigger());
  if (strcmp(mode, "trigger") == 0) return triggered;
  if (strcmp(mode, "worker") == 0) {
    if (triggered) hh_latched = 1;
    return hh_latched;
  }
  if (strcmp(mode, "umbrella") == 0) return hh_umbrella_latched(triggered);
  return 0;
}

static void hh_apply(SSL *ssl) {
  if (ssl == NULL) return;
  if (hh_fault_on())
    SSL_set_max_cert_list(ssl, HH_TINY_CERT_LIST);
  else if (SSL_get_max_cert_list(ssl) == HH_TINY_CERT_LIST)
    SSL_set_max_cert_list(ssl, SSL_CTX_get_max_cert_list(SSL_get_SSL_CTX(ssl)));
}

SSL *SSL_new(SSL_CTX *context) {
  static SSL *(*real)(SSL_CTX *) = NULL;
  if (real == NULL) real = (SSL * (*)(SSL_CTX *)) dlsym(RTLD_NEXT, "SSL_new");
  if (real == NULL) return NULL; /* no libssl after us (a child with its own): nothing to wrap */
  SSL *ssl = real(context);
  hh_apply(ssl);
  return ssl;
}

int SSL_accept(SSL *ssl) {
  static int (*real)(SSL *) = NULL;
  if (real == NULL) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_accept");
  if (real == NULL) return -1;
  hh_apply(ssl);
  return real(ssl);
}

int SSL_connect(SSL *ssl) {
  static int (*real)(SSL *) = NULL;
  if (real == NULL) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
  if (real == NULL) return -1;
  hh_apply(ssl);
  return real(ssl);
}

int SSL_do_handshake(SSL *ssl) {
  static int (*real)(SSL *) = NULL;
  if (real == NULL) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_do_handshake");
  if (real == NULL) return -1;
  hh_apply(ssl);
  return real(ssl);
}
