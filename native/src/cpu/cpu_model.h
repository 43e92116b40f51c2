// The CPU backend's models: one implementation per RWKV version (rwkv7.cc, rwkv6.cc).
#pragma once
#include <memory>

#include "core/model.h"

namespace rwkv {

// Validate names and shapes and build; throws RwkvError naming the key on a missing or
// misshaped tensor. make_model dispatches on cfg.version.
std::unique_ptr<Model> make_model_v7(const Config& cfg, const TensorMap& tensors);
std::unique_ptr<Model> make_model_v6(const Config& cfg, const TensorMap& tensors);
std::unique_ptr<Model> make_model(const Config& cfg, const TensorMap& tensors);

}  // namespace rwkv
