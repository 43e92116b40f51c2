#include "cuda/quant.cuh"

namespace rwkv::cuda {
namespace {

__device__ int nearest_nf4(float x) {
  int best = 0;
  float best_d = fabsf(x - kNf4Levels[0]);
  for (int i = 1; i < 16; ++i) {
    const float d = fabsf(x - kNf4Levels[i]);
    if (d < best_d) { best_d = d; best = i; }
  }
  return best;
}

// One thread per block of kQuantBlock elements (a block never straddles a byte: 64 is even).
__global__ void quantize_blocks(const __nv_bfloat16* __restrict__ src, long n, Quant kind,
                                uint8_t* __restrict__ codes, float* __restrict__ absmax) {
  const long blk = blockIdx.x * long(blockDim.x) + threadIdx.x;
  const long begin = blk * kQuantBlock;
  if (begin >= n) return;
  const long end = min(n, begin + kQuantBlock);
  float amax = 0.f;
  for (long i = begin; i < end; ++i) amax = fmaxf(amax, fabsf(__bfloat162float(src[i])));
  absmax[blk] = amax;
  const float inv = amax > 0.f ? 1.f / amax : 0.f;
  for (long i = begin; i < end; ++i) {
    const float x = __bfloat162float(src[i]) * inv;
    if (kind == Quant::Int8) {
      codes[i] = uint8_t(int8_t(__float2int_rn(fminf(fmaxf(x * 127.f, -127.f), 127.f))));
    } else if ((i & 1) == 0) {
      const int lo = nearest_nf4(x);
      const int hi = i + 1 < end ? nearest_nf4(__bfloat162float(src[i + 1]) * inv) : 7;  // 7 = level 0
      codes[i >> 1] = uint8_t(lo | (hi << 4));
    }
  }
}

__global__ void dequantize_k(DeviceWeight w, long n, __nv_bfloat16* __restrict__ out) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(weight_at(w, i));
}

}  // namespace

void dequantize(const DeviceWeight& w, __nv_bfloat16* out, cudaStream_t stream) {
  const long n = long(w.rows) * w.cols;
  dequantize_k<<<blocks_for(n, 256), 256, 0, stream>>>(w, n, out);
  check_launch("dequantize");
}

DeviceWeight quantize(const __nv_bfloat16* src, int rows, int cols, Quant kind, DeviceBuffer<uint8_t>& codes,
                      DeviceBuffer<float>& absmax, cudaStream_t stream) {
  const long n = long(rows) * cols, nblocks = (n + kQuantBlock - 1) / kQuantBlock;
  codes.resize(kind == Quant::NF4 ? size_t((n + 1) / 2) : size_t(n));
  absmax.resize(size_t(nblocks));
  quantize_blocks<<<blocks_for(nblocks, 128), 128, 0, stream>>>(src, n, kind, codes.get(), absmax.get());
  check_launch("quantize_blocks");
  DeviceWeight w;
  w.kind = kind; w.rows = rows; w.cols = cols; w.codes = codes.get(); w.absmax = absmax.get();
  return w;
}

}  // namespace rwkv::cuda
