#include <vector>

#include "cuda/common.cuh"
#include "cuda/gemm.cuh"
#include "cuda/host_ops.h"
#include "cuda/quant.cuh"
#include "cuda/wkv6.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

// Device copies of n-float host arrays; get(i) is the device pointer of the i-th.
struct Uploads {
  std::vector<DeviceBuffer<float>> bufs;
  float* add(const float* host, size_t n) {
    bufs.emplace_back(n);
    if (host) check(cudaMemcpy(bufs.back().get(), host, n * sizeof(float), cudaMemcpyHostToDevice), "upload");
    return bufs.back().get();
  }
};

void download(float* host, const float* dev, size_t n) {
  check(cudaMemcpy(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost), "download");
}

Wkv7In upload7(Uploads& u, const Wkv7In& in, size_t n) {
  return {u.add(in.r, n), u.add(in.w, n), u.add(in.k, n), u.add(in.v, n), u.add(in.a, n), u.add(in.b, n)};
}

}  // namespace

void wkv7_forward_host(int B, int T, int H, const Wkv7In& in, float* state, float* y) {
  const size_t n = size_t(B) * T * H * kWkvN, ns = size_t(B) * H * kWkvN * kWkvN;
  Uploads u;
  const Wkv7In d = upload7(u, in, n);
  float *st = u.add(state, ns), *dy = u.add(nullptr, n);
  wkv7_forward(B, T, H, d, st, dy, nullptr, nullptr);
  check(cudaDeviceSynchronize(), "wkv7_forward");
  download(state, st, ns);
  download(y, dy, n);
}

void wkv7_backward_host(int B, int T, int H, const Wkv7In& in, const float* s0, const float* dy, const Wkv7Grad& g,
                        float* ds0) {
  const size_t n = size_t(B) * T * H * kWkvN, ns = size_t(B) * H * kWkvN * kWkvN;
  Uploads u;
  const Wkv7In d = upload7(u, in, n);
  float *st = u.add(s0, ns), *y = u.add(nullptr, n), *ck = u.add(nullptr, wkv7_checkpoint_floats(B, H, T));
  float *ddy = u.add(dy, n), *scratch = u.add(nullptr, wkv7_scratch_floats(B, H)), *dds0 = u.add(nullptr, ns);
  const Wkv7Grad dg{u.add(nullptr, n), u.add(nullptr, n), u.add(nullptr, n), u.add(nullptr, n), u.add(nullptr, n),
                    u.add(nullptr, n)};
  wkv7_forward(B, T, H, d, st, y, ck, nullptr);
  wkv7_backward(B, T, H, d, ck, ddy, dg, dds0, scratch, nullptr);
  check(cudaDeviceSynchronize(), "wkv7_backward");
  download(g.dr, dg.dr, n); download(g.dw, dg.dw, n); download(g.dk, dg.dk, n);
  download(g.dv, dg.dv, n); download(g.da, dg.da, n); download(g.db, dg.db, n);
  download(ds0, dds0, ns);
}

void wkv6_forward_host(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                       const float* u, float* state, float* y) {
  const size_t n = size_t(s.B) * s.T * s.C(), ns = size_t(s.B) * s.H * s.N * s.N;
  Uploads up;
  float *dr = up.add(r, n), *dk = up.add(k, n), *dv = up.add(v, n), *dw = up.add(w, n), *du = up.add(u, size_t(s.C()));
  float *st = up.add(state, ns), *dy = up.add(nullptr, n);
  wkv6_forward(s, dr, dk, dv, dw, du, st, dy, nullptr, nullptr);
  check(cudaDeviceSynchronize(), "wkv6_forward");
  download(state, st, ns);
  download(y, dy, n);
}

void wkv6_backward_host(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                        const float* u, const float* s0, const float* dy, float* dstate, float* dr, float* dk, float* dv,
                        float* dw, float* du) {
  const size_t n = size_t(s.B) * s.T * s.C(), ns = size_t(s.B) * s.H * s.N * s.N;
  Uploads up;
  float *pr = up.add(r, n), *pk = up.add(k, n), *pv = up.add(v, n), *pw = up.add(w, n), *pu = up.add(u, size_t(s.C()));
  float *st = up.add(s0, ns), *y = up.add(nullptr, n), *ck = up.add(nullptr, s.checkpoint_floats());
  float *pdy = up.add(dy, n), *pds = up.add(dstate, ns), *scratch = up.add(nullptr, wkv6_scratch_floats(s));
  float *gr = up.add(nullptr, n), *gk = up.add(nullptr, n), *gv = up.add(nullptr, n), *gw = up.add(nullptr, n);
  float* gu = du ? up.add(nullptr, size_t(s.C())) : nullptr;
  wkv6_forward(s, pr, pk, pv, pw, pu, st, y, ck, nullptr);
  wkv6_backward(s, pr, pk, pv, pw, pu, ck, pdy, pds, gr, gk, gv, gw, gu, scratch, nullptr);
  check(cudaDeviceSynchronize(), "wkv6_backward");
  download(dstate, pds, ns);
  download(dr, gr, n); download(dk, gk, n); download(dv, gv, n); download(dw, gw, n);
  if (du) download(du, gu, size_t(s.C()));
}

void matmul_host(int M, int N, int K, const float* A, const uint16_t* W, bool trans_b, float* C, Quant q) {
  Uploads up;
  float *a = up.add(A, size_t(M) * K), *c = up.add(nullptr, size_t(M) * N);
  DeviceBuffer<__nv_bfloat16> wb{size_t(N) * K};
  check(cudaMemcpy(wb.get(), W, size_t(N) * K * 2, cudaMemcpyHostToDevice), "upload");
  DeviceBuffer<uint8_t> codes;
  DeviceBuffer<float> absmax;
  DeviceWeight dw;
  dw.rows = trans_b ? N : K; dw.cols = trans_b ? K : N; dw.bf16 = wb.get();
  if (q != Quant::None) dw = quantize(wb.get(), dw.rows, dw.cols, q, codes, absmax, nullptr);
  gemm(M, N, K, a, K, dw, trans_b, c, N, 0.f, nullptr);
  check(cudaDeviceSynchronize(), "matmul");
  download(C, c, size_t(M) * N);
}

}  // namespace rwkv::cuda
