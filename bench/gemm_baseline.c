/* Machine baselines for bench/gemm.ts, compiled at bench time without -march flags (the vector
 * code has target attributes and runs only where the CPU reports the feature):
 *   peak T ISA          fp32 FMA peak with T threads (GFLOP/s), ISA avx512 | avx2: independent FMA chains
 *   copy T MIB          memcpy bandwidth with T threads over two MIB-sized buffers (GB/s, read + write)
 *   read T MIB          read bandwidth with T threads: sum of a MIB-sized float buffer in the widest
 *                       vectors the CPU has (GB/s); the label is the vector ISA
 *   sgemm T M N K TB    OpenBLAS cblas_sgemm, row-major C[M,N] = A[M,K]·op(B), op(B) = Bᵀ when TB is 1
 *                       (built with -DWITH_OPENBLAS); the label is OpenBLAS's kernel (core) name
 *   dnnl T M N K TB     the same through oneDNN's dnnl_sgemm (built with -DWITH_DNNL; threads from
 *                       OMP_NUM_THREADS, set by the caller); the label is oneDNN's effective ISA
 * Each prints two rates of 7 samples and a label: per wall-clock second, per CPU-second of the
 * process times THREADS (the rate while the threads actually run: robust on a busy, shared machine).
 * The rates are medians, except for peak: its best sample, as a peak is what the CPU can do and
 * a shared machine only ever takes some away (one run's median read 159 GFLOP/s against 229-234
 * in the runs beside it, and the step's "at most" bound fell below what the step did).
 * Exit status 3: this CPU or build cannot run the mode (the reason on stderr). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WITH_OPENBLAS
#include <cblas.h>
#endif
#ifdef WITH_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#endif
#include <immintrin.h>

static double clock_s(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}
static double median(double* v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }
static double best(double* v, int n) { qsort(v, n, sizeof *v, cmp); return v[n - 1]; }

enum { SAMPLES = 7, CHAINS = 12 };
static long peak_iters = 20000000;
static size_t mem_bytes;
static char *src, *dst;
static int nthreads;
static volatile float sink;

/* CHAINS independent FMA chains: enough to cover the FMA latency on two pipes. */
__attribute__((target("avx512f"))) static void* fma512_worker(void* arg) {
  (void)arg;
  __m512 acc[CHAINS], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  for (int j = 0; j < CHAINS; ++j) acc[j] = _mm512_set1_ps((float)j);
  for (long i = 0; i < peak_iters; ++i)
#pragma GCC unroll 12
    for (int j = 0; j < CHAINS; ++j) acc[j] = _mm512_fmadd_ps(acc[j], b, c);
  for (int j = 1; j < CHAINS; ++j) acc[0] = _mm512_add_ps(acc[0], acc[j]);
  sink = _mm512_reduce_add_ps(acc[0]);
  return NULL;
}

__attribute__((target("avx2,fma"))) static void* fma256_worker(void* arg) {
  (void)arg;
  __m256 acc[CHAINS], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_set1_ps((float)j);
  for (long i = 0; i < peak_iters; ++i)
#pragma GCC unroll 12
    for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_fmadd_ps(acc[j], b, c);
  for (int j = 1; j < CHAINS; ++j) acc[0] = _mm256_add_ps(acc[0], acc[j]);
  float out[8];
  _mm256_storeu_ps(out, acc[0]);
  sink = out[0];
  return NULL;
}

static void* copy_worker(void* arg) {
  long t = (long)arg; size_t part = mem_bytes / nthreads;
  memcpy(dst + t * part, src + t * part, part);
  return NULL;
}

/* The read loop in the widest vectors the CPU has (as the FMA peak): SSE loads, which is what -O3
 * makes of a plain loop without -march, read ~10% less per second than AVX-512 ones on Zen 5, and
 * the bf16 GEMV, which streams with AVX-512, outran that "limit". Four accumulators per thread. */
#define READ_BODY(V, ZERO, LOAD, ADD, LANES)                                        \
  long t = (long)arg; size_t n = mem_bytes / nthreads / sizeof(float);              \
  const float* p = (const float*)src + t * n;                                       \
  V s0 = ZERO, s1 = ZERO, s2 = ZERO, s3 = ZERO;                                     \
  for (size_t i = 0; i + 4 * LANES <= n; i += 4 * LANES) {                          \
    s0 = ADD(s0, LOAD(p + i)); s1 = ADD(s1, LOAD(p + i + LANES));                   \
    s2 = ADD(s2, LOAD(p + i + 2 * LANES)); s3 = ADD(s3, LOAD(p + i + 3 * LANES));   \
  }                                                                                 \
  float out[LANES];
__attribute__((target("avx512f"))) static void* read512_worker(void* arg) {
  READ_BODY(__m512, _mm512_setzero_ps(), _mm512_load_ps, _mm512_add_ps, 16)
  _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  sink = out[0];
  return NULL;
}
__attribute__((target("avx2"))) static void* read256_worker(void* arg) {
  READ_BODY(__m256, _mm256_setzero_ps(), _mm256_load_ps, _mm256_add_ps, 8)
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  sink = out[0];
  return NULL;
}
static void* read128_worker(void* arg) {
  READ_BODY(__m128, _mm_setzero_ps(), _mm_load_ps, _mm_add_ps, 4)
  _mm_storeu_ps(out, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
  sink = out[0];
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

/* A GEMM of the given shape, timed: a warm-up, then SAMPLES samples of enough calls for ≥ 0.2 s. */
typedef void (*gemm_fn)(int m, int n, int k, int tb, const float* a, const float* b, float* c);
static int time_gemm(gemm_fn f, int m, int n, int k, int tb, double* v, double* vc) {
  float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
  if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); return 1; }
  for (long i = 0; i < (long)m * k; ++i) a[i] = (float)(i % 13) * 0.1f - 0.6f;
  for (long i = 0; i < (long)n * k; ++i) b[i] = (float)(i % 7) * 0.1f - 0.3f;
  const double flop = 2.0 * m * n * (double)k;
  f(m, n, k, tb, a, b, c);
  double t0 = now();
  f(m, n, k, tb, a, b, c);
  const double once = now() - t0;
  const int reps = once >= 0.2 ? 1 : (int)(0.2 / (once > 1e-6 ? once : 1e-6)) + 1;
  for (int s = 0; s < SAMPLES; ++s) {
    double w = now(), c0 = cpu_now();
    for (int r = 0; r < reps; ++r) f(m, n, k, tb, a, b, c);
    v[s] = flop * reps / (now() - w) / 1e9;
    vc[s] = flop * reps * nthreads / (cpu_now() - c0) / 1e9;
  }
  free(a); free(b); free(c);
  return 0;
}

#ifdef WITH_OPENBLAS
static void openblas_gemm(int m, int n, int k, int tb, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f, a, k, b, tb ? k : n, 0.f, c,
              n);
}
#endif
#ifdef WITH_DNNL
static void onednn_gemm(int m, int n, int k, int tb, const float* a, const float* b, float* c) {
  dnnl_sgemm('N', tb ? 'T' : 'N', m, n, k, 1.f, a, k, b, tb ? k : n, 0.f, c, n);
}
#endif

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s peak|copy|read|sgemm|dnnl THREADS ...\n", argv[0]); return 2; }
  nthreads = atoi(argv[2]);
  if (nthreads < 1 || nthreads > 64) { fprintf(stderr, "threads must be 1..64\n"); return 2; }
  const char* mode = argv[1];
  const char* label = "";
  double v[SAMPLES], vc[SAMPLES]; /* work per wall second, per CPU-second × threads */
  __builtin_cpu_init();
  if (!strcmp(mode, "peak")) {
    const int wide = argc > 3 && !strcmp(argv[3], "avx512");
    const int has = wide ? __builtin_cpu_supports("avx512f")
                         : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!has) {
      fprintf(stderr, "this CPU has no %s\n", wide ? "AVX-512" : "AVX2+FMA");
      return 3;
    }
    const double flop = (wide ? 32.0 : 16.0) * CHAINS * peak_iters * nthreads;
    for (int s = 0; s < SAMPLES; ++s) {
      v[s] = flop / timed(wide ? fma512_worker : fma256_worker) / 1e9;
      vc[s] = flop * nthreads / last_cpu / 1e9;
    }
  } else if (!strcmp(mode, "copy") || !strcmp(mode, "read")) {
    mem_bytes = (size_t)(argc > 3 ? atoi(argv[3]) : 512) << 20;
    src = aligned_alloc(64, mem_bytes); dst = aligned_alloc(64, mem_bytes);
    if (!src || !dst) { fprintf(stderr, "out of memory\n"); return 1; }
    memset(src, 1, mem_bytes); memset(dst, 0, mem_bytes);
    const int copy = !strcmp(mode, "copy");
    void* (*worker)(void*) = copy_worker;
    if (!copy) {
      const int w512 = __builtin_cpu_supports("avx512f"), w256 = __builtin_cpu_supports("avx2");
      worker = w512 ? read512_worker : w256 ? read256_worker : read128_worker;
      label = w512 ? "avx512" : w256 ? "avx2" : "sse";
    }
    timed(worker);
    const double bytes = (copy ? 2.0 : 1.0) * mem_bytes;
    for (int s = 0; s < SAMPLES; ++s) {
      v[s] = bytes / timed(worker) / 1e9;
      vc[s] = bytes * nthreads / last_cpu / 1e9;
    }
  } else if (!strcmp(mode, "sgemm") || !strcmp(mode, "dnnl")) {
    if (argc < 7) { fprintf(stderr, "usage: %s %s THREADS M N K TRANSB\n", argv[0], mode); return 2; }
    const int m = atoi(argv[3]), n = atoi(argv[4]), k = atoi(argv[5]), tb = atoi(argv[6]);
    gemm_fn f = NULL;
    if (!strcmp(mode, "sgemm")) {
#ifdef WITH_OPENBLAS
      openblas_set_num_threads(nthreads);
      f = openblas_gemm;
      label = openblas_get_corename();
#endif
    } else {
#ifdef WITH_DNNL
      f = onednn_gemm;
      label = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
#endif
    }
    if (!f) { fprintf(stderr, "built without %s\n", strcmp(mode, "sgemm") ? "oneDNN" : "OpenBLAS"); return 3; }
    if (time_gemm(f, m, n, k, tb, v, vc)) return 1;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  double (*pick)(double*, int) = strcmp(mode, "peak") ? median : best;
  printf("%.3f %.3f %s\n", pick(v, SAMPLES), pick(vc, SAMPLES), label);
  return 0;
}
