/*
 * Larson, ported from src/workloads/larson.ts (mimalloc-bench's `larson 5 8 1000 5000 100 4141 T`
 * as the JS harness runs it):
 *
 *   larson THREADS CHUNKS ROUNDS GENERATIONS MIN_SIZE MAX_SIZE SEED WARMUP
 *
 * Each of THREADS persistent threads fills its array of CHUNKS blocks; then, in generation g,
 * thread w works on array (w + g) mod THREADS: ROUNDS × CHUNKS replacements (free a random block
 * of the array, malloc one of random size in its place), so after generation 0 it frees blocks
 * another thread allocated. A barrier separates generations. As in the JS harness, each
 * generation's draws (slot, size, tag; and the owner bookkeeping that counts cross-thread frees)
 * are made into the thread's pair arrays before its clock starts; the time is the sum over
 * timed generations of barrier (draws done) to barrier (loops done); WARMUP generations run first,
 * the same way, untimed (as the JS harness's, whose allocators are compiled while they run).
 * Then each thread frees the array it would take next.
 * Same draws, checksum and cross-thread free count as the JS model. Prints one JSON line.
 */
#include <pthread.h>

#include "common.h"

#define FILL 0xffff

static int threads, chunks, rounds, generations, warmup, min_size, max_size;
static uint32_t seed;
static unsigned char **ptrs;
static int32_t *sizes;
static uint32_t *tags;
static int32_t *owner;
static pthread_barrier_t generation_barrier; /* the workers */
static pthread_barrier_t edge_barrier;       /* the workers and main: start and end of the timed part */

struct worker {
  pthread_t thread;
  int w;
  uint32_t checksum; /* this generation's (the table's running checksum in the JS harness) */
  uint32_t total;    /* sum of the generations' and the drain's checksums */
  long cross;
  long corrupt;
  double timed_ns; /* sum of the generations' timed parts */
  int32_t *pair_slot; /* this generation's pre-drawn pairs */
  int32_t *pair_size;
  uint32_t *pair_tag;
};

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

static void release(struct worker *me, int i) {
  unsigned char *p = ptrs[i];
  uint32_t r = tags[i];
  unsigned char first = p[0];
  unsigned char last = p[sizes[i] - 1];
  if (first != tag_first(r) || last != tag_last(r)) me->corrupt++;
  me->checksum = fold(me->checksum, (uint32_t)first | ((uint32_t)last << 8));
  free(p);
  ptrs[i] = NULL;
}

static void *work(void *arg) {
  struct worker *me = arg;
  int w = me->w;
  uint32_t range = (uint32_t)(max_size - min_size + 1);
  uint32_t fill_parts[3] = {seed, (uint32_t)w, FILL};
  uint32_t s = seed_of(fill_parts, 3);
  for (int k = 0; k < chunks; k++) {
    s = xorshift32(s);
    int size = min_size + (int)(s % range);
    s = xorshift32(s);
    place(w * chunks + k, size, s);
    owner[w * chunks + k] = w;
  }
  pthread_barrier_wait(&edge_barrier);
  for (int g = 0; g < warmup + generations; g++) {
    int arr = (w + g) % threads;
    int base = arr * chunks;
    long n = (long)rounds * chunks;
    uint32_t parts[3] = {seed, (uint32_t)arr, (uint32_t)g};
    s = seed_of(parts, 3);
    for (long k = 0; k < n; k++) {
      s = xorshift32(s);
      int i = base + (int)(s % (uint32_t)chunks);
      me->cross += owner[i] != w;
      owner[i] = w;
      me->pair_slot[k] = i;
      s = xorshift32(s);
      me->pair_size[k] = min_size + (int)(s % range);
      s = xorshift32(s);
      me->pair_tag[k] = s;
    }
    pthread_barrier_wait(&generation_barrier);
    double t0 = now_ns();
    me->checksum = 0;
    for (long k = 0; k < n; k++) {
      int i = me->pair_slot[k];
      release(me, i);
      place(i, me->pair_size[k], me->pair_tag[k]);
    }
    me->total += me->checksum;
    pthread_barrier_wait(&generation_barrier);
    if (g >= warmup) me->timed_ns += now_ns() - t0;
  }
  pthread_barrier_wait(&edge_barrier);
  int base = ((w + warmup + generations) % threads) * chunks;
  me->checksum = 0;
  for (int k = 0; k < chunks; k++) release(me, base + k);
  me->total += me->checksum;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: larson THREADS CHUNKS ROUNDS GENERATIONS MIN_SIZE MAX_SIZE SEED WARMUP\n");
    return 2;
  }
  threads = (int)arg(argv, 1);
  chunks = (int)arg(argv, 2);
  rounds = (int)arg(argv, 3);
  generations = (int)arg(argv, 4);
  min_size = (int)arg(argv, 5);
  max_size = (int)arg(argv, 6);
  seed = (uint32_t)arg(argv, 7);
  warmup = (int)arg(argv, 8);
  int n = threads * chunks;
  ptrs = xmalloc(sizeof *ptrs * (size_t)n);
  sizes = xmalloc(sizeof *sizes * (size_t)n);
  tags = xmalloc(sizeof *tags * (size_t)n);
  owner = xmalloc(sizeof *owner * (size_t)n);
  struct worker *workers = calloc((size_t)threads, sizeof *workers);
  pthread_barrier_init(&generation_barrier, NULL, (unsigned)threads);
  pthread_barrier_init(&edge_barrier, NULL, (unsigned)threads + 1);
  for (int w = 0; w < threads; w++) {
    workers[w].w = w;
    workers[w].pair_slot = xmalloc(sizeof(int32_t) * (size_t)rounds * (size_t)chunks);
    workers[w].pair_size = xmalloc(sizeof(int32_t) * (size_t)rounds * (size_t)chunks);
    workers[w].pair_tag = xmalloc(sizeof(uint32_t) * (size_t)rounds * (size_t)chunks);
    int e = pthread_create(&workers[w].thread, NULL, work, &workers[w]);
    if (e) {
      fprintf(stderr, "pthread_create failed (%d)\n", e);
      return 3;
    }
  }
  pthread_barrier_wait(&edge_barrier);
  pthread_barrier_wait(&edge_barrier);
  double ns = 0;
  uint32_t checksum = 0;
  long cross = 0, corrupt = 0;
  for (int w = 0; w < threads; w++) {
    pthread_join(workers[w].thread, NULL);
    checksum += workers[w].total;
    cross += workers[w].cross;
    corrupt += workers[w].corrupt;
    if (workers[w].timed_ns > ns) ns = workers[w].timed_ns;
  }
  long ops = (long)threads * generations * rounds * chunks;
  printf("{\"opsPerSec\":%.1f,\"ops\":%ld,\"ms\":%.3f,\"crossFrees\":%ld,\"checksum\":%u,\"corrupt\":%ld,\"malloc\":\"%s\"}\n",
         (double)ops * 1e9 / ns, ops, ns / 1e6, cross, checksum, corrupt, malloc_name());
  return 0;
}
