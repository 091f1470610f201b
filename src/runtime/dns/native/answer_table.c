/*
 * The answer table (see answer_table.h). The parsing and rendering below are ports of
 * wire.ts parseQuery/cacheKey/udpLimit and cache.ts renderEntry; test/dns/native.test.ts
 * checks them against the TypeScript originals byte for byte on generated queries.
 */
#define _GNU_SOURCE
#include "answer_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LEN 12
#define MAX_NAME_WIRE 255
#define UDP_DEFAULT_MAX 512
#define TYPE_OPT 41
#define INITIAL_BUCKETS 1024

typedef struct entry {
  struct entry *next;
  uint64_t hash;
  int64_t stored_ms;
  int64_t life_ms;
  uint32_t key_len;
  uint32_t data_len;
  uint32_t nttl;
  uint32_t *ttls;  /* nttl pairs: offset, original TTL */
  uint8_t *key;
  uint8_t *data;
  /* ttls, key and data follow in the same allocation */
} entry;

struct at_table {
  uint64_t hash_key[2]; /* secret, per table */
  entry **buckets;
  size_t mask;
  size_t count;
  uint64_t bytes;
  uint64_t served;
};

int64_t at_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                   \
  do {                                                             \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
  } while (0)

static uint64_t load64_le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/*
 * SipHash-c-d (Aumasson and Bernstein) keyed with k[0], k[1]. Query names come from any
 * local process, and negative answers are cached too, so a predictable hash would let a
 * client fill one bucket chain and make every lookup walk it; with a secret per-table key
 * it cannot aim. The table uses SipHash-1-3 (as CPython and Rust's HashMap do); the test
 * checks the function against the paper's SipHash-2-4 vectors.
 */
static uint64_t siphash(const uint8_t *in, size_t len, const uint64_t k[2], int c, int d) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
  uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
  uint64_t v3 = 0x7465646279746573ULL ^ k[1];
  const uint8_t *end = in + len - (len % 8);
  for (; in != end; in += 8) {
    uint64_t m = load64_le(in);
    v3 ^= m;
    for (int i = 0; i < c; i++) SIPROUND;
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)in[i] << (8 * i);
  v3 ^= b;
  for (int i = 0; i < c; i++) SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < d; i++) SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

at_table *at_new(void) {
  at_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->buckets = calloc(INITIAL_BUCKETS, sizeof *t->buckets);
  if (!t->buckets) {
    free(t);
    return NULL;
  }
  t->mask = INITIAL_BUCKETS - 1;
  if (getrandom(t->hash_key, sizeof t->hash_key, GRND_NONBLOCK) != (ssize_t)sizeof t->hash_key) {
    /* Early boot (entropy not ready; never block a resolver) or no getrandom: weaker, still not guessable from outside. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->hash_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)t;
    t->hash_key[1] = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
  }
  return t;
}

void at_clear(at_table *t) {
  for (size_t i = 0; i <= t->mask; i++) {
    entry *e = t->buckets[i];
    while (e) {
      entry *next = e->next;
      free(e);
      e = next;
    }
    t->buckets[i] = NULL;
  }
  t->count = 0;
  t->bytes = 0;
}

void at_free(at_table *t) {
  if (!t) return;
  at_clear(t);
  free(t->buckets);
  free(t);
}

static entry **slot_of(at_table *t, const uint8_t *key, size_t key_len, uint64_t h) {
  entry **p = &t->buckets[h & t->mask];
  while (*p) {
    entry *e = *p;
    if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0) return p;
    p = &e->next;
  }
  return p;
}

static void unlink_entry(at_table *t, entry **p) {
  entry *e = *p;
  *p = e->next;
  t->count--;
  t->bytes -= e->data_len;
  free(e);
}

void at_del(at_table *t, const uint8_t *key, size_t key_len) {
  entry **p = slot_of(t, key, key_len, siphash(key, key_len, t->hash_key, 1, 3));
  if (*p) unlink_entry(t, p);
}

/* Double the bucket array (keeps chains short); on failure the table just stays denser. */
static void grow(at_table *t) {
  size_t n = (t->mask + 1) * 2;
  entry **b = calloc(n, sizeof *b);
  if (!b) return;
  for (size_t i = 0; i <= t->mask; i++) {
    entry *e = t->buckets[i];
    while (e) {
      entry *next = e->next;
      e->next = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->mask = n - 1;
}

int at_put(at_table *t, const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len,
           const uint32_t *ttls, size_t nttl, int64_t life_ms, int64_t age_ms, int64_t now_ms) {
  uint64_t h = siphash(key, key_len, t->hash_key, 1, 3);
  entry **p = slot_of(t, key, key_len, h);
  if (*p) unlink_entry(t, p);
  if (key_len == 0 || key_len > AT_MAX_KEY || data_len < HEADER_LEN || data_len > 65535 || life_ms <= 0 || age_ms < 0) return -1;
  for (size_t i = 0; i < nttl; i++)
    if ((size_t)ttls[2 * i] + 4 > data_len) return -1;
  entry *e = malloc(sizeof *e + nttl * 2 * sizeof(uint32_t) + key_len + data_len);
  if (!e) return -1;
  e->hash = h;
  e->stored_ms = now_ms - age_ms;
  e->life_ms = life_ms;
  e->key_len = (uint32_t)key_len;
  e->data_len = (uint32_t)data_len;
  e->nttl = (uint32_t)nttl;
  e->ttls = (uint32_t *)(e + 1);
  e->key = (uint8_t *)(e->ttls + nttl * 2);
  e->data = e->key + key_len;
  if (nttl > 0) memcpy(e->ttls, ttls, nttl * 2 * sizeof(uint32_t));
  memcpy(e->key, key, key_len);
  memcpy(e->data, data, data_len);
  /* The slot may have moved if the entry was unlinked: look it up again. */
  p = slot_of(t, key, key_len, h);
  e->next = NULL;
  *p = e;
  t->count++;
  t->bytes += data_len;
  if (t->count > t->mask + 1) grow(t);
  return 0;
}

at_stats at_get_stats(const at_table *t) {
  at_stats s = {t->served, t->count, t->bytes};
  return s;
}

/* wire.ts skipName: the end of a (possibly compressed) name, or -1. */
static long skip_name(const uint8_t *m, long off, long end) {
  long total = 0;
  for (;;) {
    if (off >= end) return -1;
    uint8_t len = m[off];
    if (len == 0) return off + 1;
    uint8_t kind = len & 0xc0;
    if (kind == 0xc0) return off + 2 <= end ? off + 2 : -1;
    if (kind != 0) return -1;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return -1;
    off += len + 1;
  }
}

/* wire.ts skipRecord. */
static long skip_record(const uint8_t *m, long off, long end) {
  long name_end = skip_name(m, off, end);
  if (name_end < 0 || name_end + 10 > end) return -1;
  long next = name_end + 10 + ((m[name_end + 8] << 8) | m[name_end + 9]);
  return next > end ? -1 : next;
}

typedef struct {
  long name_end;
  long question_end;
  int has_opt;
  unsigned udp_size;
  int dnssec_ok;
} query_info;

/* wire.ts parseQuery, Ok outcome only: 1 when the query is well-formed, else 0. */
static int parse_query(const uint8_t *m, long len, query_info *q) {
  if (len < HEADER_LEN) return 0;
  unsigned flags = ((unsigned)m[2] << 8) | m[3];
  if (flags & 0x8000) return 0;              /* QR: a response */
  if ((flags & 0x7800) != 0) return 0;       /* opcode other than QUERY */
  unsigned qd = ((unsigned)m[4] << 8) | m[5];
  unsigned an = ((unsigned)m[6] << 8) | m[7];
  unsigned ns = ((unsigned)m[8] << 8) | m[9];
  unsigned ar = ((unsigned)m[10] << 8) | m[11];
  if (qd != 1) return 0;
  long off = HEADER_LEN;
  for (;;) {
    if (off >= len) return 0;
    uint8_t l = m[off];
    if (l == 0) {
      off++;
      break;
    }
    if (l > 63) return 0;
    off += l + 1;
    if (off - HEADER_LEN >= MAX_NAME_WIRE) return 0;
  }
  q->name_end = off;
  if (off + 4 > len) return 0;
  off += 4;
  q->question_end = off;
  q->has_opt = 0;
  q->udp_size = 0;
  q->dnssec_ok = 0;
  for (unsigned i = 0; i < an + ns; i++) {
    off = skip_record(m, off, len);
    if (off < 0) return 0;
  }
  for (unsigned i = 0; i < ar; i++) {
    long name_end = skip_name(m, off, len);
    if (name_end < 0 || name_end + 10 > len) return 0;
    unsigned type = ((unsigned)m[name_end] << 8) | m[name_end + 1];
    long next = name_end + 10 + ((m[name_end + 8] << 8) | m[name_end + 9]);
    if (next > len) return 0;
    if (type == TYPE_OPT) {
      if (q->has_opt || name_end != off + 1) return 0;
      q->has_opt = 1;
      q->udp_size = ((unsigned)m[name_end + 2] << 8) | m[name_end + 3];
      q->dnssec_ok = (m[name_end + 6] & 0x80) != 0;
    }
    off = next;
  }
  return 1;
}

/* wire.ts cacheKey: lowercased wire name, qtype, qclass, EDNS-state byte. */
static size_t cache_key(const uint8_t *m, const query_info *q, uint8_t *k) {
  size_t o = 0;
  for (long off = HEADER_LEN; off < q->name_end; off++) {
    uint8_t c = m[off];
    k[o++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  long ne = q->name_end;
  k[o++] = m[ne];
  k[o++] = m[ne + 1];
  k[o++] = m[ne + 2];
  k[o++] = m[ne + 3];
  int cd = (m[3] & 0x10) != 0;
  k[o++] = (uint8_t)(0x40 | (q->has_opt ? 1 : 0) | (q->dnssec_ok ? 2 : 0) | (cd ? 4 : 0));
  return o;
}

size_t at_serve(at_table *t, uint8_t *buf, size_t len, size_t cap, int64_t now_ms) {
  if (t->count == 0) return 0;
  query_info q;
  if (!parse_query(buf, (long)len, &q)) return 0;
  uint8_t key[AT_MAX_KEY];
  size_t key_len = cache_key(buf, &q, key);
  entry *e = *slot_of(t, key, key_len, siphash(key, key_len, t->hash_key, 1, 3));
  if (!e) return 0;
  int64_t elapsed_ms = now_ms - e->stored_ms;
  if (elapsed_ms >= e->life_ms) return 0; /* expired: JavaScript removes it */
  /* wire.ts udpLimit (RFC 6891 §6.2.5); larger answers get TC from JavaScript. */
  size_t limit = q.has_opt && q.udp_size > UDP_DEFAULT_MAX ? q.udp_size : UDP_DEFAULT_MAX;
  if (e->data_len > limit || e->data_len > cap || (long)e->data_len < q.question_end) return 0;
  /* cache.ts renderEntry, in place: the client's ID and question stay; RD is the client's. */
  buf[2] = (uint8_t)((e->data[2] & 0xfe) | (buf[2] & 0x01));
  memcpy(buf + 3, e->data + 3, HEADER_LEN - 3);
  memcpy(buf + q.question_end, e->data + q.question_end, e->data_len - (size_t)q.question_end);
  int64_t elapsed = elapsed_ms / 1000;
  if (elapsed > 0) {
    for (uint32_t i = 0; i < e->nttl; i++) {
      uint32_t off = e->ttls[2 * i];
      int64_t v = (int64_t)e->ttls[2 * i + 1] - elapsed;
      if (v < 0) v = 0;
      buf[off] = (uint8_t)(v >> 24);
      buf[off + 1] = (uint8_t)(v >> 16);
      buf[off + 2] = (uint8_t)(v >> 8);
      buf[off + 3] = (uint8_t)v;
    }
  }
  t->served++;
  return e->data_len;
}
