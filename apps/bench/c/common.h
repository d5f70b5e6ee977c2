/*
 * What the C references share with the JS harness (src/prng.ts, src/workloads/blocks.ts): the
 * seeded xorshift32 sequence, the seed mixer, the checksum fold, the first/last-byte tags, and a
 * monotonic clock. Same seed and configuration → same draws and the same checksum as the JS model.
 */
#ifndef HAKMEM_BENCH_COMMON_H
#define HAKMEM_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifndef __EMSCRIPTEN__
#include <dlfcn.h>
#endif

static inline uint32_t xorshift32(uint32_t s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

/* seedOf(...parts) of src/prng.ts: splitmix32's finaliser over the parts, never 0. */
static uint32_t seed_of(const uint32_t *parts, int n) {
  uint32_t h = 0x9e3779b9u;
  for (int i = 0; i < n; i++) {
    h = (h ^ parts[i]) * 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
  }
  return h ? h : 1;
}

static inline uint32_t fold(uint32_t h, uint32_t v) {
  h = (h ^ v) * 0x01000193u;
  return h ^ (h >> 15);
}

static inline unsigned char tag_first(uint32_t r) { return (unsigned char)((r & 0x7f) | 0x80); }
static inline unsigned char tag_last(uint32_t r) {
  uint32_t t = (r >> 8) & 0x7f;
  return (unsigned char)(t ? t : 1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Which malloc answers: "mimalloc" when it was preloaded, else the build's own. */
static const char *malloc_name(void) {
#ifdef __EMSCRIPTEN__
  return "emscripten";
#else
  return dlsym(RTLD_DEFAULT, "mi_version") ? "mimalloc" : "libc";
#endif
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "out of memory for %zu bytes\n", n);
    exit(3);
  }
  return p;
}

static long arg(char **argv, int i) { return strtol(argv[i], NULL, 10); }

#endif
