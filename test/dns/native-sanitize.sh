#!/usr/bin/env bash
# The native UDP layer's C code (src/runtime/dns/native) under AddressSanitizer and
# UndefinedBehaviorSanitizer: builds an instrumented copy of the addon in place of the
# one `npm ci` built, runs the test files that drive it (the answer-table property,
# the binding tests, the whole in-process proxy suite and the fuzz test), and puts
# the normal build back, whatever happens. Any sanitizer report fails the run.
#
# Usage: npm run test:native-sanitize   (Linux, after `npm ci`; needs gcc with libasan/libubsan)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NATIVE="$ROOT/src/runtime/dns/native"
ADDON="$NATIVE/build/Release/udp_batch.node"
[[ -f "$ADDON" ]] || { echo "native-sanitize: $ADDON missing; run npm ci first" >&2; exit 1; }
ASAN=$(gcc -print-file-name=libasan.so)
UBSAN=$(gcc -print-file-name=libubsan.so)
[[ "$ASAN" == /* && "$UBSAN" == /* ]] || { echo "native-sanitize: gcc has no libasan/libubsan" >&2; exit 1; }
NODE_INCLUDE=$(node -p "require('node:path').resolve(process.execPath, '../../include/node')")

SAVED=$(mktemp)
cp "$ADDON" "$SAVED"
trap 'cp "$SAVED" "$ADDON"; rm -f "$SAVED"' EXIT

gcc -shared -fPIC -O1 -g -std=gnu11 -Wall -Wextra -Werror \
  -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  -I"$NODE_INCLUDE" "$NATIVE/udp_batch.c" "$NATIVE/answer_table.c" -o "$ADDON"

cd "$ROOT"
# Node itself is not built with ASan: leak checking would report its own allocations.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1 \
  LD_PRELOAD="$ASAN $UBSAN" \
  WARPC_E2E=required \
  npx vitest run test/dns/answer-table.test.ts test/dns/native.test.ts test/dns/proxy.test.ts test/dns/fuzz.test.ts
