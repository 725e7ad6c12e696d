#ifndef KEEL_SHA256_H
#define KEEL_SHA256_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256's 64 round constants (FIPS 180-4 §4.2.2), for both compressions.
const uint32_t *keel_sha256_round_constants(void);

/// 1 when this CPU has the x86 SHA extensions (and SSSE3 / SSE4.1, which the rounds use).
int keel_sha256_has_sha_extensions(void);

/// Compresses `count` 64-byte blocks into `state` (H0…H7) with the SHA extensions.
/// Call only when keel_sha256_has_sha_extensions() is 1.
void keel_sha256_compress_sha_extensions(uint32_t state[8], const uint8_t *blocks, size_t count);

#endif
