/*
 * churn, ported from src/workloads/churn.ts: random free+malloc in a window of live blocks.
 *
 *   churn WINDOW PAIRS MIN_SIZE MAX_SIZE SEED
 *
 * Fill the window, draw every pair before the clock starts (slot, size, tag from the same
 * xorshift32 sequence as the JS harness), run the first tenth untimed (as the JS harness does for
 * its JIT warm-up), time the rest in 5 equal parts, report the median part's ns per pair. Every
 * new block gets its first and last byte written; every block is read back before its free and
 * at the end, and folded into the checksum, which equals the JS model's for the same arguments.
 * Prints one JSON line.
 */
#include "common.h"

#define SEGMENTS 5
#define WARMUP 10

static unsigned char **ptrs;
static int32_t *sizes;
static uint32_t *tags;
static uint32_t checksum;
static long corrupt;

static void place(int i, int size, uint32_t r) {
  unsigned char *p = malloc((size_t)size);
  if (!p) {
    fprintf(stderr, "malloc(%d) returned NULL\n", size);
    exit(3);
  }
  p[0] = tag_first(r);
  p[size - 1] = tag_last(r);
  ptrs[i] = p;
  sizes[i] = size;
  tags[i] = r;
}

static void verify(int i) {
  unsigned char *p = ptrs[i];
  uint32_t r = tags[i];
  unsigned char first = p[0];
  unsigned char last = p[sizes[i] - 1];
  if (first != tag_first(r) || last != tag_last(r)) corrupt++;
  checksum = fold(checksum, (uint32_t)first | ((uint32_t)last << 8));
}

static void pairs_run(const int32_t *slot, const int32_t *size, const uint32_t *tag, long from, long to) {
  for (long k = from; k < to; k++) {
    int i = slot[k];
    verify(i);
    free(ptrs[i]);
    place(i, size[k], tag[k]);
  }
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: churn WINDOW PAIRS MIN_SIZE MAX_SIZE SEED\n");
    return 2;
  }
  int window = (int)arg(argv, 1);
  long pairs = arg(argv, 2);
  int min = (int)arg(argv, 3), max = (int)arg(argv, 4);
  uint32_t seed = (uint32_t)arg(argv, 5);
  uint32_t range = (uint32_t)(max - min + 1);

  ptrs = xmalloc(sizeof *ptrs * (size_t)window);
  sizes = xmalloc(sizeof *sizes * (size_t)window);
  tags = xmalloc(sizeof *tags * (size_t)window);
  uint32_t parts[2] = {seed, (uint32_t)window};
  uint32_t s = seed_of(parts, 2);
  for (int i = 0; i < window; i++) {
    s = xorshift32(s);
    int size = min + (int)(s % range);
    s = xorshift32(s);
    place(i, size, s);
  }
  int32_t *slot = xmalloc(sizeof *slot * (size_t)pairs);
  int32_t *size = xmalloc(sizeof *size * (size_t)pairs);
  uint32_t *tag = xmalloc(sizeof *tag * (size_t)pairs);
  for (long k = 0; k < pairs; k++) {
    s = xorshift32(s);
    slot[k] = (int32_t)(s % (uint32_t)window);
    s = xorshift32(s);
    size[k] = min + (int32_t)(s % range);
    s = xorshift32(s);
    tag[k] = s;
  }

  long warm = pairs / WARMUP;
  pairs_run(slot, size, tag, 0, warm);
  double per[SEGMENTS];
  int n = 0;
  for (int seg = 0; seg < SEGMENTS; seg++) {
    long from = warm + (long)((double)(pairs - warm) * seg / SEGMENTS);
    long to = warm + (long)((double)(pairs - warm) * (seg + 1) / SEGMENTS);
    double t0 = now_ns();
    pairs_run(slot, size, tag, from, to);
    if (to > from) per[n++] = (now_ns() - t0) / (double)(to - from);
  }
  qsort(per, (size_t)n, sizeof per[0], by_value);
  for (int i = 0; i < window; i++) verify(i);

  printf("{\"ns\":%.3f,\"pairs\":%ld,\"checksum\":%u,\"corrupt\":%ld,\"malloc\":\"%s\"}\n", n ? per[n / 2] : -1.0,
         pairs, checksum, corrupt, malloc_name());
  return 0;
}
