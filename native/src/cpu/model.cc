// make_model: picks the implementation for the checkpoint's RWKV version.
#include "cpu/model.h"

namespace rwkv {

// Weak until rwkv6.cc defines it, so a tree without the RWKV-6 model still links and loads, and
// asking for version 6 there gives an error instead of an unresolved-symbol crash.
__attribute__((weak)) std::unique_ptr<Model> make_model_v6(const Config& cfg, const TensorMap& tensors);

std::unique_ptr<Model> make_model(const Config& cfg, const TensorMap& tensors) {
  switch (cfg.version) {
    case 7: return make_model_v7(cfg, tensors);
    case 6:
      if (!&make_model_v6) throw RwkvError("this build of the native runtime has no RWKV-6 model");
      return make_model_v6(cfg, tensors);
    default: throw RwkvError("unsupported RWKV version " + std::to_string(cfg.version) + " (supported: 6, 7)");
  }
}

}  // namespace rwkv
