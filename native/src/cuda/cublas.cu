#include <dlfcn.h>
#include <library_types.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "cuda/cublas.cuh"

namespace rwkv::cuda {
namespace {

// The few declarations of cublas_api.h used here (cuBLAS 12/13 ABI): handles are opaque pointers,
// enums are ints.
using Handle = void*;
using CreateFn = int (*)(Handle*);
using VersionFn = int (*)(Handle, int*);
using SetStreamFn = int (*)(Handle, cudaStream_t);
using GemmExFn = int (*)(Handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                         cudaDataType Atype, int lda, const void* B, cudaDataType Btype, int ldb, const void* beta,
                         void* C, cudaDataType Ctype, int ldc, int compute_type, int algo);
constexpr int kOpN = 0, kOpT = 1, kCompute32F = 68, kGemmDefault = -1;

struct Cublas {
  CublasInfo info;
  Handle handle = nullptr;
  SetStreamFn set_stream = nullptr;
  GemmExFn gemm_ex = nullptr;
  std::mutex mu;  // one handle: its stream is set per call
};

Cublas* load() {
  auto* c = new Cublas;  // lives for the process: the handle must outlive every model
  const char* env = std::getenv("RWKV_CUBLAS");
  const std::string want = env ? env : "";
  if (want == "off") {
    c->info.detail = "off (RWKV_CUBLAS=off)";
    return c;
  }
  const std::vector<std::string> names =
      want.empty() ? std::vector<std::string>{"libcublas.so.13", "libcublas.so.12", "libcublas.so"}
                   : std::vector<std::string>{want};
  void* lib = nullptr;
  std::string tried, name;
  for (const auto& n : names) {
    lib = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) { name = n; break; }
    const char* e = dlerror();
    tried += (tried.empty() ? "" : "; ") + std::string(e ? e : n);
  }
  if (!lib) {
    c->info.detail = "not found (" + tried + ")";
    return c;
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, "cublasCreate_v2"));
  auto version = reinterpret_cast<VersionFn>(dlsym(lib, "cublasGetVersion_v2"));
  c->set_stream = reinterpret_cast<SetStreamFn>(dlsym(lib, "cublasSetStream_v2"));
  c->gemm_ex = reinterpret_cast<GemmExFn>(dlsym(lib, "cublasGemmEx"));
  if (!create || !version || !c->set_stream || !c->gemm_ex) {
    c->info.detail = name + " lacks cublasCreate_v2/cublasGemmEx";
    return c;
  }
  const int st = create(&c->handle);
  if (st != 0) {
    c->info.detail = name + ": cublasCreate failed with status " + std::to_string(st);
    return c;
  }
  int v = 0;
  version(c->handle, &v);
  c->info.loaded = true;
  c->info.detail = name + " (cuBLAS " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
                   std::to_string(v % 100) + ")";
  return c;
}

Cublas& cublas() {
  static Cublas* c = load();
  return *c;
}

}  // namespace

const CublasInfo& cublas_info() { return cublas().info; }

bool cublas_gemm(int M, int N, int K, const __nv_bfloat16* A, int lda, const __nv_bfloat16* W, int ldw, bool trans_b,
                 float* C, int ldc, float beta, cudaStream_t s) {
  Cublas& c = cublas();
  if (!c.info.loaded) return false;
  // Row-major C = A·op(W) is column-major Cᵀ[N,M] = op(W)ᵀ·Aᵀ: W's rows are cuBLAS' columns, so a
  // [N,K] weight is transposed ("T") and a [K,N] one is used as it is ("N").
  const float alpha = 1.f;
  std::lock_guard<std::mutex> lock(c.mu);
  int st = c.set_stream(c.handle, s);
  if (st == 0)
    st = c.gemm_ex(c.handle, trans_b ? kOpT : kOpN, kOpN, N, M, K, &alpha, W, CUDA_R_16BF, ldw, A, CUDA_R_16BF, lda,
                   &beta, C, CUDA_R_32F, ldc, kCompute32F, kGemmDefault);
  if (st != 0) throw RwkvError("CUDA model: cublasGemmEx failed with status " + std::to_string(st));
  return true;
}

}  // namespace rwkv::cuda
