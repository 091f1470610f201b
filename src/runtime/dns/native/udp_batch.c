/*
 * Batched UDP for the DNS proxy's hot path (Linux): recvmmsg/sendmmsg instead of
 * one recvmsg/sendmsg round trip through Node's dgram per packet.
 *
 * Single-threaded: the socket is polled on Node's own event loop (uv_poll), and
 * every call into JavaScript happens on the main thread. Each readable event drains
 * up to MAX_ROUNDS batches of up to BATCH datagrams. When the socket has an answer
 * table (answer_table.h: a mirror the TypeScript cache keeps), the cache hits among
 * them are answered here, in place, and leave in one sendmmsg; the rest of the batch
 * goes to JavaScript as
 *   onBatch(data: Buffer, offsets: Uint32Array(n + 1), addrs: Buffer(n * ADDR_LEN))
 * where datagram i is data[offsets[i], offsets[i+1]) and its source address is the
 * raw sockaddr in addrs[i * ADDR_LEN, (i + 1) * ADDR_LEN).
 *
 * JS API (see udp-batch.ts):
 *   open(address: string, port: number, v6: boolean, onBatch, table?) -> handle   (throws on error)
 *   localPort(handle) -> number
 *   send(handle, packets: Buffer[], addrs: Buffer, indexes: Uint32Array) -> number sent
 *   close(handle)
 *   tableCreate() -> table
 *   tablePut(table, key: string (latin1), data: Buffer, ttls: Uint32Array, lifeMs, ageMs)
 *   tableDelete(table, key), tableClear(table)
 *   tableServe(table, query: Buffer) -> Buffer | null   (what the receive path would send)
 *   tableStats(table) -> { served, entries, bytes }
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "answer_table.h"

#define BATCH 64
#define MAX_ROUNDS 16
#define MAX_DGRAM 65535
#define ADDR_LEN ((int)sizeof(struct sockaddr_in6)) /* 28: holds either family */

#define UDP_MAGIC 0x75647062u   /* "udpb" */
#define TABLE_MAGIC 0x616e7374u /* "anst" */

/* A table's JS handle. */
typedef struct {
  uint32_t magic;
  at_table *t;
} table_box;

typedef struct {
  uint32_t magic;
  int fd;
  int closed;      /* close() ran (or the handle was finalized): socket closed, poll closing */
  int poll_closed; /* libuv has finished closing the poll handle */
  int finalized;   /* the JS handle is gone */
  napi_env env;
  napi_ref callback;
  napi_ref table_ref; /* keeps the table's JS handle alive while the socket uses it */
  at_table *table;    /* NULL: every datagram goes to JavaScript */
  napi_async_context async;
  uv_poll_t poll;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in6 from[BATCH];
  unsigned char *bufs; /* BATCH * MAX_DGRAM */
} udp_t;

/* external_of() reads the magic number first, whichever handle it was given. */
_Static_assert(offsetof(udp_t, magic) == 0, "udp_t starts with its magic");
_Static_assert(offsetof(table_box, magic) == 0, "table_box starts with its magic");

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "udp_batch: N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "udp_batch: %s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* The struct is freed only when both libuv and JavaScript are done with it. */
static void free_if_done(udp_t *u) {
  if (u->poll_closed && u->finalized) {
    free(u->bufs);
    free(u);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  udp_t *u = (udp_t *)h->data;
  u->poll_closed = 1;
  free_if_done(u);
}

/* Stop polling, close the socket, release the JS callback. Idempotent. */
static void shut(napi_env env, udp_t *u) {
  if (u->closed) return;
  u->closed = 1;
  uv_poll_stop(&u->poll);
  close(u->fd);
  napi_delete_reference(env, u->callback);
  if (u->table_ref) napi_delete_reference(env, u->table_ref);
  u->table = NULL;
  napi_async_destroy(env, u->async);
  uv_close((uv_handle_t *)&u->poll, on_poll_closed);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  udp_t *u = (udp_t *)data;
  shut(env, u);
  u->finalized = 1;
  free_if_done(u);
}

/* Hand datagrams keep[0, n) of the last receive to JavaScript. */
static void deliver(udp_t *u, const int *keep, int n) {
  napi_env env = u->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t total = 0;
  for (int k = 0; k < n; k++) total += u->msgs[keep[k]].msg_len;
  void *data_ptr, *addr_ptr, *off_ptr;
  napi_value data, addrs, offsets_ab, offsets, cb, recv, argv[3], result;
  if (napi_create_buffer(env, total, &data_ptr, &data) != napi_ok ||
      napi_create_buffer(env, (size_t)n * ADDR_LEN, &addr_ptr, &addrs) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)(n + 1) * 4, &off_ptr, &offsets_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, (size_t)n + 1, offsets_ab, 0, &offsets) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  uint32_t *off = (uint32_t *)off_ptr;
  size_t at = 0;
  for (int k = 0; k < n; k++) {
    int i = keep[k];
    off[k] = (uint32_t)at;
    if (u->msgs[i].msg_len > 0) memcpy((unsigned char *)data_ptr + at, u->bufs + (size_t)i * MAX_DGRAM, u->msgs[i].msg_len);
    at += u->msgs[i].msg_len;
    memset((unsigned char *)addr_ptr + (size_t)k * ADDR_LEN, 0, ADDR_LEN);
    memcpy((unsigned char *)addr_ptr + (size_t)k * ADDR_LEN, &u->from[i], u->msgs[i].msg_hdr.msg_namelen < (socklen_t)ADDR_LEN ? u->msgs[i].msg_hdr.msg_namelen : (socklen_t)ADDR_LEN);
  }
  off[n] = (uint32_t)at;
  argv[0] = data;
  argv[1] = offsets;
  argv[2] = addrs;
  if (napi_get_reference_value(env, u->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok) {
    /* make_callback: microtasks (promises the batch created) run when it returns. */
    if (napi_make_callback(env, u->async, recv, cb, 3, argv, &result) == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* sendmmsg all of msgs[0, m); returns how many went out. UDP answers are best effort:
 * a datagram the kernel refuses (EAGAIN, a per-destination error) is skipped. */
static uint32_t send_all(int fd, struct mmsghdr *msgs, unsigned m) {
  unsigned done = 0;
  uint32_t sent = 0;
  while (done < m) {
    int r = sendmmsg(fd, msgs + done, m - done, MSG_DONTWAIT);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      done++;
      continue;
    }
    done += (unsigned)r;
    sent += (uint32_t)r;
  }
  return sent;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  udp_t *u = (udp_t *)poll->data;
  if (status < 0 || u->closed || !(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_ROUNDS && !u->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      u->iov[i].iov_base = u->bufs + (size_t)i * MAX_DGRAM;
      u->iov[i].iov_len = MAX_DGRAM;
      memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
      u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
      u->msgs[i].msg_hdr.msg_iovlen = 1;
      u->msgs[i].msg_hdr.msg_name = &u->from[i];
      u->msgs[i].msg_hdr.msg_namelen = sizeof u->from[i];
    }
    int n = recvmmsg(u->fd, u->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN, or an error the next event will show again */
    int keep[BATCH], nkeep = 0;
    if (u->table) {
      struct mmsghdr out[BATCH];
      struct iovec out_iov[BATCH];
      int nout = 0;
      int64_t now = at_now_ms();
      for (int i = 0; i < n; i++) {
        unsigned char *buf = u->bufs + (size_t)i * MAX_DGRAM;
        size_t len = at_serve(u->table, buf, u->msgs[i].msg_len, MAX_DGRAM, now);
        if (len == 0) {
          keep[nkeep++] = i;
          continue;
        }
        out_iov[nout].iov_base = buf;
        out_iov[nout].iov_len = len;
        memset(&out[nout], 0, sizeof out[nout]);
        out[nout].msg_hdr.msg_iov = &out_iov[nout];
        out[nout].msg_hdr.msg_iovlen = 1;
        out[nout].msg_hdr.msg_name = &u->from[i];
        out[nout].msg_hdr.msg_namelen = u->msgs[i].msg_hdr.msg_namelen;
        nout++;
      }
      send_all(u->fd, out, (unsigned)nout);
    } else {
      for (int i = 0; i < n; i++) keep[nkeep++] = i;
    }
    if (nkeep > 0) deliver(u, keep, nkeep);
    if (n < BATCH) return;
  }
}

/* The external behind a JS handle when it carries `magic` (both handle structs start with it), else NULL
 * with a TypeError thrown: one kind of handle passed for the other, or any other value. */
static void *external_of(napi_env env, napi_value v, uint32_t magic, const char *what) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL || *(const uint32_t *)p != magic) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return p;
}

static table_box *table_of(napi_env env, napi_value v) {
  return external_of(env, v, TABLE_MAGIC, "udp_batch: not a table");
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "udp_batch: open(address, port, v6, onBatch, table?)");
    return NULL;
  }
  table_box *box = NULL;
  if (argc >= 5) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[4], &t));
    if (t != napi_undefined && t != napi_null && !(box = table_of(env, argv[4]))) return NULL;
  }
  char address[64];
  size_t len;
  uint32_t port;
  bool v6;
  CHECK(napi_get_value_string_utf8(env, argv[0], address, sizeof address, &len));
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &v6));
  if (port > 65535) {
    napi_throw_range_error(env, NULL, "udp_batch: port out of range");
    return NULL;
  }
  struct sockaddr_in6 sa6;
  struct sockaddr_in sa4;
  memset(&sa6, 0, sizeof sa6);
  memset(&sa4, 0, sizeof sa4);
  if (v6) {
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &sa6.sin6_addr) != 1) {
      napi_throw_error(env, NULL, "udp_batch: not an IPv6 address");
      return NULL;
    }
  } else {
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa4.sin_addr) != 1) {
      napi_throw_error(env, NULL, "udp_batch: not an IPv4 address");
      return NULL;
    }
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  int on = 1, size = 4 << 20;
  if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  int rc = v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof sa6) : bind(fd, (struct sockaddr *)&sa4, sizeof sa4);
  if (rc < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return throw_errno(env, "bind");
  }
  udp_t *u = calloc(1, sizeof *u);
  unsigned char *bufs = malloc((size_t)BATCH * MAX_DGRAM);
  if (!u || !bufs) {
    free(u);
    free(bufs);
    close(fd);
    napi_throw_error(env, NULL, "udp_batch: out of memory");
    return NULL;
  }
  u->magic = UDP_MAGIC;
  u->fd = fd;
  u->env = env;
  u->bufs = bufs;
  napi_value name;
  CHECK(napi_create_reference(env, argv[3], 1, &u->callback));
  if (box) {
    CHECK(napi_create_reference(env, argv[4], 1, &u->table_ref));
    u->table = box->t;
  }
  CHECK(napi_create_string_utf8(env, "warpc.udp_batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &u->async));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_init(loop, &u->poll, fd);
  u->poll.data = u;
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  napi_value handle;
  CHECK(napi_create_external(env, u, finalize, NULL, &handle));
  return handle;
}

static udp_t *handle_of(napi_env env, napi_value v) {
  return external_of(env, v, UDP_MAGIC, "udp_batch: not a handle");
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = handle_of(env, argv[0]);
  if (!u) return NULL;
  if (u->closed) {
    napi_throw_error(env, NULL, "udp_batch: closed");
    return NULL;
  }
  struct sockaddr_in6 sa;
  socklen_t len = sizeof sa;
  if (getsockname(u->fd, (struct sockaddr *)&sa, &len) < 0) return throw_errno(env, "getsockname");
  CHECK(napi_create_uint32(env, ntohs(sa.sin6_port), &out)); /* sin_port and sin6_port share the offset */
  return out;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = handle_of(env, argv[0]);
  if (!u) return NULL;
  uint32_t n;
  CHECK(napi_get_array_length(env, argv[1], &n));
  void *addrs;
  size_t addrs_len;
  CHECK(napi_get_buffer_info(env, argv[2], &addrs, &addrs_len));
  napi_typedarray_type type;
  size_t idx_len, idx_off;
  void *idx_data;
  napi_value idx_ab;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &idx_len, &idx_data, &idx_ab, &idx_off));
  if (type != napi_uint32_array || idx_len < n) {
    napi_throw_type_error(env, NULL, "udp_batch: indexes must be a Uint32Array as long as packets");
    return NULL;
  }
  const uint32_t *idx = (const uint32_t *)idx_data;
  uint32_t sent_total = 0;
  if (u->closed) {
    CHECK(napi_create_uint32(env, 0, &out));
    return out;
  }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (uint32_t base = 0; base < n; base += BATCH) {
    uint32_t m = n - base < BATCH ? n - base : BATCH;
    for (uint32_t j = 0; j < m; j++) {
      napi_value pkt;
      void *data;
      size_t len;
      CHECK(napi_get_element(env, argv[1], base + j, &pkt));
      CHECK(napi_get_buffer_info(env, pkt, &data, &len));
      size_t a = (size_t)idx[base + j] * ADDR_LEN;
      if (a + ADDR_LEN > addrs_len) {
        napi_throw_range_error(env, NULL, "udp_batch: address index out of range");
        return NULL;
      }
      struct sockaddr *sa = (struct sockaddr *)((unsigned char *)addrs + a);
      iov[j].iov_base = data;
      iov[j].iov_len = len;
      memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      msgs[j].msg_hdr.msg_name = sa;
      msgs[j].msg_hdr.msg_namelen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    }
    sent_total += send_all(u->fd, msgs, m);
  }
  CHECK(napi_create_uint32(env, sent_total, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = handle_of(env, argv[0]);
  if (!u) return NULL;
  shut(env, u);
  return NULL;
}

static void table_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  table_box *box = (table_box *)data;
  at_free(box->t);
  box->magic = 0;
  free(box);
}

static napi_value js_table_create(napi_env env, napi_callback_info info) {
  (void)info;
  table_box *box = malloc(sizeof *box);
  at_table *t = at_new();
  if (!box || !t) {
    free(box);
    at_free(t);
    napi_throw_error(env, NULL, "udp_batch: out of memory");
    return NULL;
  }
  box->magic = TABLE_MAGIC;
  box->t = t;
  napi_value handle;
  if (napi_create_external(env, box, table_finalize, NULL, &handle) != napi_ok) {
    at_free(t);
    free(box);
    napi_throw_error(env, NULL, "udp_batch: N-API call failed: napi_create_external");
    return NULL;
  }
  return handle;
}

/* The arguments of a table call (up to `n`, the rest undefined) and its table, argv[0]; NULL after throwing. */
static table_box *table_call(napi_env env, napi_callback_info info, napi_value *argv, size_t n) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "udp_batch: N-API call failed: napi_get_cb_info");
    return NULL;
  }
  return table_of(env, argv[0]);
}

/* A key string (latin1: one byte per character) into `key`; returns its length, or 0 after throwing. */
static size_t key_of(napi_env env, napi_value v, uint8_t key[AT_MAX_KEY + 1]) {
  size_t len = 0;
  if (napi_get_value_string_latin1(env, v, NULL, 0, &len) != napi_ok || len == 0 || len > AT_MAX_KEY) {
    napi_throw_type_error(env, NULL, "udp_batch: a key is a string of 1 to 260 latin1 characters");
    return 0;
  }
  napi_get_value_string_latin1(env, v, (char *)key, AT_MAX_KEY + 1, &len);
  return len;
}

static napi_value js_table_put(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  table_box *box = table_call(env, info, argv, 6);
  if (!box) return NULL;
  uint8_t key[AT_MAX_KEY + 1];
  size_t key_len = key_of(env, argv[1], key);
  if (!key_len) return NULL;
  void *data, *ttl_data;
  size_t data_len, ttl_len, ttl_off;
  napi_typedarray_type type;
  napi_value ttl_ab;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &data_len));
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &ttl_len, &ttl_data, &ttl_ab, &ttl_off));
  if (type != napi_uint32_array || ttl_len % 2 != 0) {
    napi_throw_type_error(env, NULL, "udp_batch: ttls must be a Uint32Array of (offset, ttl) pairs");
    return NULL;
  }
  int64_t life_ms, age_ms;
  CHECK(napi_get_value_int64(env, argv[4], &life_ms));
  CHECK(napi_get_value_int64(env, argv[5], &age_ms));
  napi_value ok;
  int rc = at_put(box->t, key, key_len, data, data_len, ttl_data, ttl_len / 2, life_ms, age_ms, at_now_ms());
  CHECK(napi_get_boolean(env, rc == 0, &ok));
  return ok;
}

static napi_value js_table_delete(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  table_box *box = table_call(env, info, argv, 2);
  if (!box) return NULL;
  uint8_t key[AT_MAX_KEY + 1];
  size_t key_len = key_of(env, argv[1], key);
  if (!key_len) return NULL;
  at_del(box->t, key, key_len);
  return NULL;
}

static napi_value js_table_clear(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  table_box *box = table_call(env, info, argv, 1);
  if (!box) return NULL;
  at_clear(box->t);
  return NULL;
}

/* What the receive path would send for `query`: the answer, or null (JavaScript's turn). */
static napi_value js_table_serve(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  table_box *box = table_call(env, info, argv, 2);
  if (!box) return NULL;
  void *query;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &query, &len));
  if (len > MAX_DGRAM) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  uint8_t *buf = malloc(MAX_DGRAM);
  if (!buf) {
    napi_throw_error(env, NULL, "udp_batch: out of memory");
    return NULL;
  }
  memcpy(buf, query, len);
  size_t n = at_serve(box->t, buf, len, MAX_DGRAM, at_now_ms());
  napi_status st = n == 0 ? napi_get_null(env, &out) : napi_create_buffer_copy(env, n, buf, NULL, &out);
  free(buf);
  CHECK(st);
  return out;
}

static napi_value js_table_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  table_box *box = table_call(env, info, argv, 1);
  if (!box) return NULL;
  at_stats s = at_get_stats(box->t);
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_double(env, (double)s.served, &v));
  CHECK(napi_set_named_property(env, out, "served", v));
  CHECK(napi_create_double(env, (double)s.entries, &v));
  CHECK(napi_set_named_property(env, out, "entries", v));
  CHECK(napi_create_double(env, (double)s.bytes, &v));
  CHECK(napi_set_named_property(env, out, "bytes", v));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"tableCreate", NULL, js_table_create, NULL, NULL, NULL, napi_default, NULL},
      {"tablePut", NULL, js_table_put, NULL, NULL, NULL, napi_default, NULL},
      {"tableDelete", NULL, js_table_delete, NULL, NULL, NULL, napi_default, NULL},
      {"tableClear", NULL, js_table_clear, NULL, NULL, NULL, napi_default, NULL},
      {"tableServe", NULL, js_table_serve, NULL, NULL, NULL, napi_default, NULL},
      {"tableStats", NULL, js_table_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
