/*
 * A TUN device for warpc's MASQUE tunnel (Linux): open /dev/net/tun, TUNSETIFF
 * with IFF_TUN | IFF_NO_PI (raw IP packets, no header), non-blocking, close on
 * exec. The device is not persistent: it disappears with the last descriptor,
 * so a crashed agent leaves no interface behind.
 *
 * Single-threaded like udp_batch.c: the descriptor is polled on Node's event loop
 * (uv_poll) and every call into JavaScript is on the main thread. Each readable
 * event drains up to MAX_ROUNDS batches of up to BATCH packets, delivered as
 *   onBatch(data: Buffer, offsets: Uint32Array(n + 1))
 * where packet i is data[offsets[i], offsets[i+1]).
 *
 * JS API (see tun.ts):
 *   open(name: string, onBatch) -> handle          (throws on error; name may be "" for tunN)
 *   name(handle) -> string                         (the kernel's name for it)
 *   write(handle, packets: Buffer[]) -> number     (packets written; a full queue drops, as a NIC would)
 *   pause(handle), resume(handle)                  (stop/start reading: back-pressure from the transport)
 *   close(handle)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define MAX_ROUNDS 8
#define MAX_PKT 65536
#define TUN_MAGIC 0x74756e64u /* "tund" */

typedef struct {
  uint32_t magic;
  int fd;
  int closed;
  int poll_closed;
  int finalized;
  int paused;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  uv_poll_t poll;
  char name[IFNAMSIZ];
  uint32_t lens[BATCH];
  unsigned char *bufs; /* BATCH * MAX_PKT */
} tun_t;

#define CHECK(call)                                                 \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error(env, NULL, "tun: N-API call failed: " #call); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "tun: %s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static void free_if_done(tun_t *t) {
  if (t->poll_closed && t->finalized) {
    free(t->bufs);
    free(t);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  tun_t *t = (tun_t *)h->data;
  t->poll_closed = 1;
  free_if_done(t);
}

static void shut(napi_env env, tun_t *t) {
  if (t->closed) return;
  t->closed = 1;
  uv_poll_stop(&t->poll);
  close(t->fd);
  napi_delete_reference(env, t->callback);
  napi_async_destroy(env, t->async);
  uv_close((uv_handle_t *)&t->poll, on_poll_closed);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  tun_t *t = (tun_t *)data;
  shut(env, t);
  t->finalized = 1;
  free_if_done(t);
}

static void deliver(tun_t *t, int n) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += t->lens[i];
  void *data_ptr, *off_ptr;
  napi_value data, offsets_ab, offsets, cb, recv, argv[2], result;
  if (napi_create_buffer(env, total, &data_ptr, &data) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)(n + 1) * 4, &off_ptr, &offsets_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, (size_t)n + 1, offsets_ab, 0, &offsets) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  uint32_t *off = (uint32_t *)off_ptr;
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    off[i] = (uint32_t)at;
    memcpy((unsigned char *)data_ptr + at, t->bufs + (size_t)i * MAX_PKT, t->lens[i]);
    at += t->lens[i];
  }
  off[n] = (uint32_t)at;
  argv[0] = data;
  argv[1] = offsets;
  if (napi_get_reference_value(env, t->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok) {
    if (napi_make_callback(env, t->async, recv, cb, 2, argv, &result) == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  tun_t *t = (tun_t *)poll->data;
  if (status < 0 || t->closed || !(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_ROUNDS && !t->closed && !t->paused; round++) {
    int n = 0;
    while (n < BATCH) {
      ssize_t r = read(t->fd, t->bufs + (size_t)n * MAX_PKT, MAX_PKT);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break; /* EAGAIN: drained */
      t->lens[n++] = (uint32_t)r;
    }
    if (n > 0) deliver(t, n);
    if (n < BATCH) return;
  }
}

static tun_t *handle_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL || *(const uint32_t *)p != TUN_MAGIC) {
    napi_throw_type_error(env, NULL, "tun: not a handle");
    return NULL;
  }
  return (tun_t *)p;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "tun: open(name, onBatch)");
    return NULL;
  }
  char name[64];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (len >= IFNAMSIZ) {
    napi_throw_range_error(env, NULL, "tun: interface names are at most 15 bytes");
    return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return throw_errno(env, "TUNSETIFF");
  }
  tun_t *t = calloc(1, sizeof *t);
  unsigned char *bufs = malloc((size_t)BATCH * MAX_PKT);
  if (!t || !bufs) {
    free(t);
    free(bufs);
    close(fd);
    napi_throw_error(env, NULL, "tun: out of memory");
    return NULL;
  }
  t->magic = TUN_MAGIC;
  t->fd = fd;
  t->env = env;
  t->bufs = bufs;
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
  t->name[IFNAMSIZ - 1] = 0;
  napi_value aname;
  CHECK(napi_create_reference(env, argv[1], 1, &t->callback));
  CHECK(napi_create_string_utf8(env, "warpc.tun", NAPI_AUTO_LENGTH, &aname));
  CHECK(napi_async_init(env, NULL, aname, &t->async));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_init(loop, &t->poll, fd);
  t->poll.data = t;
  uv_poll_start(&t->poll, UV_READABLE, on_readable);
  napi_value handle;
  CHECK(napi_create_external(env, t, finalize, NULL, &handle));
  return handle;
}

static napi_value js_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = handle_of(env, argv[0]);
  if (!t) return NULL;
  CHECK(napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = handle_of(env, argv[0]);
  if (!t) return NULL;
  uint32_t n, written = 0;
  CHECK(napi_get_array_length(env, argv[1], &n));
  for (uint32_t i = 0; i < n && !t->closed; i++) {
    napi_value el;
    void *p;
    size_t plen;
    CHECK(napi_get_element(env, argv[1], i, &el));
    if (napi_get_buffer_info(env, el, &p, &plen) != napi_ok) {
      napi_throw_type_error(env, NULL, "tun: write(handle, Buffer[])");
      return NULL;
    }
    ssize_t r;
    do r = write(t->fd, p, plen);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)plen) written++;
    /* EAGAIN (queue full), EINVAL (not an IP packet): dropped, as a NIC drops. */
  }
  CHECK(napi_create_uint32(env, written, &out));
  return out;
}

static napi_value set_paused(napi_env env, napi_callback_info info, int paused) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = handle_of(env, argv[0]);
  if (!t || t->closed || t->paused == paused) return NULL;
  t->paused = paused;
  if (paused) uv_poll_stop(&t->poll);
  else uv_poll_start(&t->poll, UV_READABLE, on_readable);
  return NULL;
}

static napi_value js_pause(napi_env env, napi_callback_info info) { return set_paused(env, info, 1); }
static napi_value js_resume(napi_env env, napi_callback_info info) { return set_paused(env, info, 0); }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = handle_of(env, argv[0]);
  if (!t) return NULL;
  shut(env, t);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"name", NULL, js_name, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
