/* Machine baselines for bench/gemm.ts, compiled at bench time:
 *   peak T        fp32 FMA peak with T threads (GFLOP/s): independent 256-bit FMA chains
 *   copy T MIB    memcpy bandwidth with T threads over two MIB-sized buffers (GB/s, read + write)
 *   read T MIB    read bandwidth with T threads: sum of a MIB-sized float buffer (GB/s)
 *   sgemm T N     OpenBLAS cblas_sgemm N³ with T threads (GFLOP/s), when built with -DWITH_OPENBLAS
 * Each prints two medians of 7 samples: per wall-clock second, and per CPU-second of the process
 * times THREADS (the rate while the threads actually run: robust on a busy, shared machine). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WITH_OPENBLAS
#include <cblas.h>
#endif
#include <immintrin.h>

static double clock_s(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return (x > y) - (x < y); }
static double median(double* v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }

enum { SAMPLES = 7, CHAINS = 10 };
static long peak_iters = 20000000;
static size_t mem_bytes;
static char *src, *dst;
static int nthreads;
static volatile float sink;

static void* fma_worker(void* arg) {
  (void)arg;
  __m256 acc[CHAINS], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_set1_ps((float)j);
  for (long i = 0; i < peak_iters; ++i)
#pragma GCC unroll 10
    for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_fmadd_ps(acc[j], b, c);
  __m256 s = acc[0];
  for (int j = 1; j < CHAINS; ++j) s = _mm256_add_ps(s, acc[j]);
  sink = _mm256_cvtss_f32(s);
  return NULL;
}

static void* copy_worker(void* arg) {
  long t = (long)arg; size_t part = mem_bytes / nthreads;
  memcpy(dst + t * part, src + t * part, part);
  return NULL;
}

static void* read_worker(void* arg) {
  long t = (long)arg; size_t n = mem_bytes / nthreads / sizeof(float);
  const float* p = (const float*)src + t * n;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i)); s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(p + i + 16)); s3 = _mm256_add_ps(s3, _mm256_loadu_ps(p + i + 24));
  }
  sink = _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return NULL;
}

static double last_cpu;  /* CPU seconds of the last timed() call, all threads */
static double timed(void* (*fn)(void*)) {
  pthread_t th[64];
  double t0 = now(), c0 = cpu_now();
  for (long t = 1; t < nthreads; ++t) pthread_create(&th[t], NULL, fn, (void*)t);
  fn((void*)0);
  for (long t = 1; t < nthreads; ++t) pthread_join(th[t], NULL);
  last_cpu = cpu_now() - c0;
  return now() - t0;
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s peak|copy|read|sgemm THREADS [MIB|N]\n", argv[0]); return 2; }
  nthreads = atoi(argv[2]);
  if (nthreads < 1 || nthreads > 64) { fprintf(stderr, "threads must be 1..64\n"); return 2; }
  const char* mode = argv[1];
  double v[SAMPLES], vc[SAMPLES]; /* work per wall second, per CPU-second × threads */
  if (!strcmp(mode, "peak")) {
    const double flop = 16.0 * CHAINS * peak_iters * nthreads;
    for (int s = 0; s < SAMPLES; ++s) { v[s] = flop / timed(fma_worker) / 1e9; vc[s] = flop * nthreads / last_cpu / 1e9; }
  } else if (!strcmp(mode, "copy") || !strcmp(mode, "read")) {
    mem_bytes = (size_t)(argc > 3 ? atoi(argv[3]) : 512) << 20;
    src = aligned_alloc(64, mem_bytes); dst = aligned_alloc(64, mem_bytes);
    if (!src || !dst) { fprintf(stderr, "out of memory\n"); return 1; }
    memset(src, 1, mem_bytes); memset(dst, 0, mem_bytes);
    const int copy = !strcmp(mode, "copy");
    timed(copy ? copy_worker : read_worker);
    const double bytes = (copy ? 2.0 : 1.0) * mem_bytes;
    for (int s = 0; s < SAMPLES; ++s) { v[s] = bytes / timed(copy ? copy_worker : read_worker) / 1e9; vc[s] = bytes * nthreads / last_cpu / 1e9; }
  } else if (!strcmp(mode, "sgemm")) {
#ifdef WITH_OPENBLAS
    const int n = argc > 3 ? atoi(argv[3]) : 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); return 1; }
    for (long i = 0; i < (long)n * n; ++i) { a[i] = (float)(i % 13) * 0.1f; b[i] = (float)(i % 7) * 0.1f; }
    openblas_set_num_threads(nthreads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
    for (int s = 0; s < SAMPLES; ++s) {
      double t0 = now(), c0 = cpu_now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
      v[s] = 2.0 * n * n * (double)n / (now() - t0) / 1e9;
      vc[s] = 2.0 * n * n * (double)n * nthreads / (cpu_now() - c0) / 1e9;
    }
#else
    fprintf(stderr, "built without OpenBLAS\n");
    return 3;
#endif
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  printf("%.3f %.3f\n", median(v, SAMPLES), median(vc, SAMPLES));
  return 0;
}
