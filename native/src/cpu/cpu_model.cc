// make_model: picks the implementation for the checkpoint's RWKV version.
#include "cpu/cpu_model.h"

namespace rwkv {

std::unique_ptr<Model> make_model(const Config& cfg, const TensorMap& tensors) {
  switch (cfg.version) {
    case 7: return make_model_v7(cfg, tensors);
    case 6: return make_model_v6(cfg, tensors);
    default: throw RwkvError("unsupported RWKV version " + std::to_string(cfg.version) + " (supported: 6, 7)");
  }
}

}  // namespace rwkv
