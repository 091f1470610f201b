/*
 * The answer table's hash against the SipHash paper's test vectors (SipHash-2-4, key
 * 00 01 .. 0f, message 00 01 .. (n-1)), and a check that two tables get different keys.
 * Built and run by test/dns/answer-table.test.ts; includes the C file to reach its static
 * functions.
 */
#include "../../src/runtime/dns/native/answer_table.c"

#include <stdio.h>

int main(void) {
  uint8_t key[16], msg[16];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i, msg[i] = (uint8_t)i;
  const uint64_t k[2] = {load64_le(key), load64_le(key + 8)};
  struct {
    size_t len;
    uint64_t want;
  } vectors[] = {{0, 0x726fdb47dd0e0e31ULL}, {15, 0xa129ca6149be45e5ULL}};
  int bad = 0;
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    uint64_t got = siphash(msg, vectors[i].len, k, 2, 4);
    if (got != vectors[i].want) {
      printf("siphash-2-4 of %zu bytes: got %016llx, want %016llx\n", vectors[i].len, (unsigned long long)got, (unsigned long long)vectors[i].want);
      bad = 1;
    }
  }
  at_table *a = at_new(), *b = at_new();
  if (!a || !b || (a->hash_key[0] == b->hash_key[0] && a->hash_key[1] == b->hash_key[1])) {
    printf("two tables share a hash key\n");
    bad = 1;
  }
  at_free(a);
  at_free(b);
  if (!bad) printf("ok\n");
  return bad;
}
