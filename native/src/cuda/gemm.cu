#include <mma.h>

#include <mutex>
#include <vector>

#include "cuda/backend.h"
#include "cuda/cublas.cuh"
#include "cuda/gemm.cuh"
#include "cuda/quant.cuh"

namespace rwkv::cuda {
namespace {

using namespace nvcuda;

// 64×64 output tile per block of 4 warps (2×2, each 32×32 = 2×2 WMMA tiles), K in steps of 32.
// Tiles are staged in shared memory as bf16 (zero-padded at the edges, so any M, N, K works).
constexpr int BM = 64, BN = 64, BK = 32, kThreads = 128;
constexpr int LDS = BK + 8;   // bf16 row stride: multiple of 8 and 32-byte aligned 16-row steps
constexpr int LDC = BN + 4;   // fp32 row stride of the output staging tile

__global__ void __launch_bounds__(kThreads)
gemm_wmma(int M, int N, int K, const float* __restrict__ A, int lda, DeviceWeight W, bool trans_b,
          float* __restrict__ C, int ldc, float beta) {
  __shared__ __align__(32) __nv_bfloat16 As[BM][LDS];
  __shared__ __align__(32) __nv_bfloat16 Bs[BN][LDS];  // [n][k] = column-major K×N tile
  __shared__ __align__(32) float Cs[BM][LDC];
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN, tid = threadIdx.x;
  const int warp = tid / 32, wm = warp / 2, wn = warp % 2;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);

  for (int k0 = 0; k0 < K; k0 += BK) {
    for (int e = tid; e < BM * BK; e += kThreads) {  // k fastest: coalesced rows of A
      const int r = e / BK, c = e % BK, m = m0 + r, k = k0 + c;
      As[r][c] = __float2bfloat16(m < M && k < K ? A[long(m) * lda + k] : 0.f);
    }
    if (trans_b) {
      for (int e = tid; e < BN * BK; e += kThreads) {  // W [N,K]: k fastest
        const int r = e / BK, c = e % BK, n = n0 + r, k = k0 + c;
        Bs[r][c] = __float2bfloat16(n < N && k < K ? weight_at(W, long(n) * W.cols + k) : 0.f);
      }
    } else {
      for (int e = tid; e < BN * BK; e += kThreads) {  // W [K,N]: n fastest
        const int r = e % BN, c = e / BN, n = n0 + r, k = k0 + c;
        Bs[r][c] = __float2bfloat16(n < N && k < K ? weight_at(W, long(k) * W.cols + n) : 0.f);
      }
    }
    __syncthreads();
    for (int kk = 0; kk < BK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], &As[wm * 32 + i * 16][kk], LDS);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &Bs[wn * 32 + j * 16][kk], LDS);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], LDC, wmma::mem_row_major);
  __syncthreads();
  for (int e = tid; e < BM * BN; e += kThreads) {
    const int r = e / BN, c = e % BN, m = m0 + r, n = n0 + c;
    if (m < M && n < N) {
      float* out = C + long(m) * ldc + n;
      *out = beta != 0.f ? *out + Cs[r][c] : Cs[r][c];
    }
  }
}

// Few rows (RNN mode, generation): tiles would idle, so read each weight element once per call and
// keep up to kSmallM rows of A in registers (loops over m are unrolled to the constant bound, so acc
// stays in registers).
constexpr int kSmallM = 8;

__device__ __forceinline__ void store_out(float* C, int ldc, int M, int n, float beta, const float* acc) {
#pragma unroll
  for (int m = 0; m < kSmallM; ++m)
    if (m < M) { float* out = C + long(m) * ldc + n; *out = beta != 0.f ? *out + acc[m] : acc[m]; }
}

// Wᵀ layout (W [N,K]): one warp per output column n, lanes over k.
__global__ void gemv_t(int M, int N, int K, const float* __restrict__ A, int lda, DeviceWeight W,
                       float* __restrict__ C, int ldc, float beta) {
  const int n = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (n >= N) return;
  float acc[kSmallM] = {};
  for (int k = lane; k < K; k += 32) {
    const float w = weight_at(W, long(n) * W.cols + k);
#pragma unroll
    for (int m = 0; m < kSmallM; ++m)
      if (m < M) acc[m] += A[long(m) * lda + k] * w;
  }
#pragma unroll
  for (int m = 0; m < kSmallM; ++m) acc[m] = warp_sum(acc[m]);
  if (lane == 0) store_out(C, ldc, M, n, beta, acc);
}

// The same for bf16 weights whose rows and A's rows are 16-byte aligned: each lane reads 8 weights (16
// bytes) at a time, a warp 512 contiguous bytes, as the memory system wants.
__global__ void gemv_t_bf16x8(int M, int N, int K, const float* __restrict__ A, int lda,
                              const __nv_bfloat16* __restrict__ W, int ldw, float* __restrict__ C, int ldc,
                              float beta) {
  const int n = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (n >= N) return;
  float acc[kSmallM] = {};
  const uint4* row = reinterpret_cast<const uint4*>(W + long(n) * ldw);
#pragma unroll 2
  for (int k8 = lane; k8 < K / 8; k8 += 32) {
    const uint4 raw = row[k8];
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
    float w[8];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float2 f = __bfloat1622float2(h[e]);
      w[2 * e] = f.x;
      w[2 * e + 1] = f.y;
    }
#pragma unroll
    for (int m = 0; m < kSmallM; ++m) {
      if (m >= M) break;
      const float4* a = reinterpret_cast<const float4*>(A + long(m) * lda) + 2 * k8;
      const float4 a0 = a[0], a1 = a[1];
      acc[m] += a0.x * w[0] + a0.y * w[1] + a0.z * w[2] + a0.w * w[3] + a1.x * w[4] + a1.y * w[5] + a1.z * w[6] +
                a1.w * w[7];
    }
  }
#pragma unroll
  for (int m = 0; m < kSmallM; ++m) acc[m] = warp_sum(acc[m]);
  if (lane == 0) store_out(C, ldc, M, n, beta, acc);
}

// W [K,N] layout (the LoRAs' first matrices, K = C and N small): a block per 32 columns, its 32 warps
// each summing every 32nd k for those columns, then the warps' sums are added in shared memory. One
// thread per column walking all of K was latency-bound: 2560 dependent steps for a 2.9B model.
constexpr int kSlices = 32;

__global__ void __launch_bounds__(32 * kSlices)
gemv_n(int M, int N, int K, const float* __restrict__ A, int lda, DeviceWeight W, float* __restrict__ C, int ldc,
       float beta) {
  __shared__ float part[kSmallM][kSlices][33];
  const int col = threadIdx.x % 32, slice = threadIdx.x / 32, n = blockIdx.x * 32 + col;
  float acc[kSmallM] = {};
  if (n < N) {
#pragma unroll 4
    for (int k = slice; k < K; k += kSlices) {
      const float w = weight_at(W, long(k) * W.cols + n);
#pragma unroll
      for (int m = 0; m < kSmallM; ++m)
        if (m < M) acc[m] += A[long(m) * lda + k] * w;
    }
  }
#pragma unroll
  for (int m = 0; m < kSmallM; ++m) part[m][slice][col] = acc[m];
  __syncthreads();
  if (slice != 0 || n >= N) return;
#pragma unroll
  for (int m = 0; m < kSmallM; ++m) {
    float v = 0.f;
    for (int s = 0; s < kSlices; ++s) v += part[m][s][col];
    acc[m] = v;
  }
  store_out(C, ldc, M, n, beta, acc);
}

__global__ void to_bf16_k(long n, int K, const float* __restrict__ A, int lda, __nv_bfloat16* __restrict__ out) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(A[(i / K) * lda + i % K]);
}

// Contiguous A, four values per thread: the common case, at memory speed.
__global__ void to_bf16_flat_k(long n4, const float4* __restrict__ A, __nv_bfloat162* __restrict__ out) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n4) return;
  const float4 v = A[i];
  out[2 * i] = __floats2bfloat162_rn(v.x, v.y);
  out[2 * i + 1] = __floats2bfloat162_rn(v.z, v.w);
}

// A stream-ordered device allocation for the length of one call: no buffer shared between streams.
class CallScratch {
 public:
  CallScratch(size_t bytes, cudaStream_t s) : bytes_(bytes), s_(s) {
    check(cudaMallocAsync(&p_, bytes, s), "cudaMallocAsync");
    note_device_bytes(long(bytes));
  }
  ~CallScratch() {
    cudaFreeAsync(p_, s_);
    note_device_bytes(-long(bytes_));
  }
  CallScratch(const CallScratch&) = delete;
  CallScratch& operator=(const CallScratch&) = delete;
  __nv_bfloat16* bf16() const { return static_cast<__nv_bfloat16*>(p_); }

 private:
  void* p_ = nullptr;
  size_t bytes_;
  cudaStream_t s_;
};

// cuBLAS on bf16 copies of A and, for nf4/int8 weights, of W (dequantised per call, as bitsandbytes
// does: a few µs of memory traffic against a GEMM many times longer on our own kernel).
bool gemm_cublas(int M, int N, int K, const float* A, int lda, const DeviceWeight& W, bool trans_b, float* C, int ldc,
                 float beta, cudaStream_t stream) {
  if (!cublas_info().loaded) return false;
  CallScratch a16(size_t(M) * K * sizeof(__nv_bfloat16), stream);
  to_bf16_rows(M, K, A, lda, a16.bf16(), stream);
  if (W.kind == Quant::None) {
    cublas_gemm(M, N, K, a16.bf16(), K, W.bf16, W.cols, trans_b, C, ldc, beta, stream);
  } else {
    CallScratch w16(size_t(W.rows) * W.cols * sizeof(__nv_bfloat16), stream);
    dequantize(W, w16.bf16(), stream);
    cublas_gemm(M, N, K, a16.bf16(), K, w16.bf16(), W.cols, trans_b, C, ldc, beta, stream);
  }
  return true;
}

// Benchmark profiling (backend.h): an event pair around every GEMM while on.
struct Profile {
  std::mutex mu;
  bool on = false;
  std::vector<cudaEvent_t> events;  // start, end, start, end, ...
  double flops = 0;
};
Profile& profile() {
  static Profile p;
  return p;
}

void gemm_run(int M, int N, int K, const float* A, int lda, const DeviceWeight& W, bool trans_b, float* C, int ldc,
              float beta, cudaStream_t stream, GemmImpl impl) {
  if (M <= kSmallM) {  // fp32 products of the (dequantised) weights: no bf16 rounding of A here
    const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    if (trans_b && W.kind == Quant::None && K % 8 == 0 && W.cols % 8 == 0 && lda % 4 == 0 && aligned16(A) &&
        aligned16(W.bf16)) {
      gemv_t_bf16x8<<<blocks_for(N, 8), 256, 0, stream>>>(M, N, K, A, lda, W.bf16, W.cols, C, ldc, beta);
    } else if (trans_b) {
      gemv_t<<<blocks_for(N, 8), 256, 0, stream>>>(M, N, K, A, lda, W, C, ldc, beta);
    } else {
      gemv_n<<<blocks_for(N, 32), 32 * kSlices, 0, stream>>>(M, N, K, A, lda, W, C, ldc, beta);
    }
    check_launch("gemv");
    return;
  }
  if (impl == GemmImpl::Auto && gemm_cublas(M, N, K, A, lda, W, trans_b, C, ldc, beta, stream)) return;
  const dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
  gemm_wmma<<<grid, kThreads, 0, stream>>>(M, N, K, A, lda, W, trans_b, C, ldc, beta);
  check_launch("gemm_wmma");
}

}  // namespace

void to_bf16_rows(int M, int K, const float* A, int lda, __nv_bfloat16* out, cudaStream_t stream) {
  const long n = long(M) * K;
  if (lda == K && n % 4 == 0 && reinterpret_cast<uintptr_t>(A) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 4 == 0) {
    to_bf16_flat_k<<<blocks_for(n / 4, 256), 256, 0, stream>>>(n / 4, reinterpret_cast<const float4*>(A),
                                                                reinterpret_cast<__nv_bfloat162*>(out));
  } else {
    to_bf16_k<<<blocks_for(n, 256), 256, 0, stream>>>(n, K, A, lda, out);
  }
  check_launch("to_bf16");
}

void gemm_profile_start() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  for (cudaEvent_t e : p.events) cudaEventDestroy(e);
  p.events.clear();
  p.flops = 0;
  p.on = true;
}

GemmProfile gemm_profile_stop() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  p.on = false;
  GemmProfile out;
  out.calls = long(p.events.size() / 2);
  out.flops = p.flops;
  for (size_t i = 0; i + 1 < p.events.size(); i += 2) {
    check(cudaEventSynchronize(p.events[i + 1]), "gemm profile");
    float ms = 0.f;
    check(cudaEventElapsedTime(&ms, p.events[i], p.events[i + 1]), "cudaEventElapsedTime");
    out.seconds += double(ms) / 1e3;
  }
  for (cudaEvent_t e : p.events) cudaEventDestroy(e);
  p.events.clear();
  return out;
}

void gemm(int M, int N, int K, const float* A, int lda, const DeviceWeight& W, bool trans_b, float* C, int ldc,
          float beta, cudaStream_t stream, GemmImpl impl) {
  if (M <= 0 || N <= 0) return;
  Profile& p = profile();
  cudaEvent_t ev[2] = {nullptr, nullptr};
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.on) {
      for (cudaEvent_t& e : ev) check(cudaEventCreate(&e), "cudaEventCreate");
      p.events.insert(p.events.end(), ev, ev + 2);
      p.flops += 2.0 * M * N * K;
    }
  }
  if (ev[0]) check(cudaEventRecord(ev[0], stream), "cudaEventRecord");
  gemm_run(M, N, K, A, lda, W, trans_b, C, ldc, beta, stream, impl);
  if (ev[1]) check(cudaEventRecord(ev[1], stream), "cudaEventRecord");
}

}  // namespace rwkv::cuda
