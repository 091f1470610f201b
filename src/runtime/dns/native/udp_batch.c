/*
 * Batched UDP for the DNS proxy's hot path (Linux): recvmmsg/sendmmsg instead of
 * one recvmsg/sendmsg round trip through Node's dgram per packet.
 *
 * Single-threaded: the socket is polled on Node's own event loop (uv_poll), and
 * every call into JavaScript happens on the main thread. This module only moves
 * bytes: it never parses DNS. Each readable event drains up to MAX_ROUNDS batches
 * of up to BATCH datagrams and hands each batch to JavaScript as
 *   onBatch(data: Buffer, offsets: Uint32Array(n + 1), addrs: Buffer(n * ADDR_LEN))
 * where datagram i is data[offsets[i], offsets[i+1]) and its source address is the
 * raw sockaddr in addrs[i * ADDR_LEN, (i + 1) * ADDR_LEN).
 *
 * JS API (see udp-batch.ts):
 *   open(address: string, port: number, v6: boolean, onBatch) -> handle   (throws on error)
 *   localPort(handle) -> number
 *   send(handle, packets: Buffer[], addrs: Buffer, indexes: Uint32Array) -> number sent
 *   close(handle)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define MAX_ROUNDS 16
#define MAX_DGRAM 65535
#define ADDR_LEN ((int)sizeof(struct sockaddr_in6)) /* 28: holds either family */

typedef struct {
  int fd;
  int closed;      /* close() ran (or the handle was finalized): socket closed, poll closing */
  int poll_closed; /* libuv has finished closing the poll handle */
  int finalized;   /* the JS handle is gone */
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  uv_poll_t poll;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in6 from[BATCH];
  unsigned char *bufs; /* BATCH * MAX_DGRAM */
} udp_t;

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

static void deliver(udp_t *u, int n) {
  napi_env env = u->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += u->msgs[i].msg_len;
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
  for (int i = 0; i < n; i++) {
    off[i] = (uint32_t)at;
    memcpy((unsigned char *)data_ptr + at, u->bufs + (size_t)i * MAX_DGRAM, u->msgs[i].msg_len);
    at += u->msgs[i].msg_len;
    memset((unsigned char *)addr_ptr + (size_t)i * ADDR_LEN, 0, ADDR_LEN);
    memcpy((unsigned char *)addr_ptr + (size_t)i * ADDR_LEN, &u->from[i], u->msgs[i].msg_hdr.msg_namelen < (socklen_t)ADDR_LEN ? u->msgs[i].msg_hdr.msg_namelen : (socklen_t)ADDR_LEN);
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
    deliver(u, n);
    if (n < BATCH) return;
  }
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
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
  u->fd = fd;
  u->env = env;
  u->bufs = bufs;
  napi_value name;
  CHECK(napi_create_reference(env, argv[3], 1, &u->callback));
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
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "udp_batch: not a handle");
    return NULL;
  }
  return (udp_t *)p;
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
    uint32_t done = 0;
    while (done < m) {
      int r = sendmmsg(u->fd, msgs + done, m - done, MSG_DONTWAIT);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        /* EAGAIN or a per-datagram error: UDP answers are best effort; skip that one. */
        done++;
        continue;
      }
      done += (uint32_t)r;
      sent_total += (uint32_t)r;
    }
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

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
