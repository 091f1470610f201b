/*
 * The answer table: a mirror of the TypeScript answer cache (src/runtime/dns/cache.ts)
 * that the UDP layer consults before a datagram enters JavaScript.
 *
 * The TypeScript cache stays the only authority: it decides what is stored, for how
 * long, and what is evicted, and it copies every change here (put, del, clear). This
 * table only answers, for a datagram that is a well-formed query by exactly the rules
 * of wire.ts parseQuery, whose key (wire.ts cacheKey) is present and unexpired, and
 * whose answer fits the client's UDP limit, the same bytes cache.ts renderEntry
 * would produce. Every other datagram goes to JavaScript unchanged.
 */
#ifndef WARPC_ANSWER_TABLE_H
#define WARPC_ANSWER_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* wire.ts: MAX_NAME_WIRE (255) plus qtype, qclass and the EDNS-state byte. */
#define AT_MAX_KEY 260

typedef struct at_table at_table;

at_table *at_new(void);
void at_free(at_table *t);

/*
 * Store (or replace) the entry for `key`: `data` is the response with ID 0; `ttls`
 * holds `nttl` pairs (TTL field offset, original TTL); the entry lives `life_ms` from
 * `now_ms - age_ms`. Returns 0, or -1 when out of memory or the input is inconsistent
 * (the entry is then absent, which only costs a trip through JavaScript).
 */
int at_put(at_table *t, const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len,
           const uint32_t *ttls, size_t nttl, int64_t life_ms, int64_t age_ms, int64_t now_ms);
void at_del(at_table *t, const uint8_t *key, size_t key_len);
void at_clear(at_table *t);

/*
 * Answer the query in `buf[0, len)` in place (the buffer must hold `cap` bytes):
 * returns the answer's length, or 0 when JavaScript must handle the datagram.
 */
size_t at_serve(at_table *t, uint8_t *buf, size_t len, size_t cap, int64_t now_ms);

typedef struct {
  uint64_t served;
  uint64_t entries;
  uint64_t bytes;
} at_stats;

at_stats at_get_stats(const at_table *t);

/* Monotonic milliseconds. */
int64_t at_now_ms(void);

#endif
