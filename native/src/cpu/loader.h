// Looks the tensors of a checkpoint up by key and checks their shapes, naming the key and both
// shapes in every error. Matrices stay views of the caller's memory; small per-channel tensors are
// copied to fp32.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/mat.h"
#include "cpu/norm.h"

namespace rwkv {

class Loader {
 public:
  // `model` names the format in messages ("RWKV-7").
  Loader(const TensorMap& tensors, std::string model) : t_(tensors), model_(std::move(model)) {}
  const std::string& model() const { return model_; }

  // The tensor, any shape.
  const TensorView& get(const std::string& key) const;
  // A tensor of exactly this shape.
  const TensorView& exact(const std::string& key, const std::vector<int64_t>& shape) const;
  // A [rows, cols] matrix.
  Mat matrix(const std::string& key, int rows, int cols) const;
  // The width D of a [rows, D] matrix (a LoRA's inner dimension).
  int width(const std::string& key, int rows) const;
  // A small tensor copied to fp32; singleton dims are ignored ([C] and [1,1,C] both occur).
  std::vector<float> vec(const std::string& key, const std::vector<int64_t>& shape) const;
  // The affine weights of the norm `prefix` (prefix.weight, prefix.bias), [C] each.
  NormWeights norm(const std::string& prefix, int C) const {
    return {vec(prefix + ".weight", {C}), vec(prefix + ".bias", {C})};
  }

 private:
  [[noreturn]] void mismatch(const std::string& key, const std::vector<int64_t>& got, const std::string& want) const;
  const TensorMap& t_;
  std::string model_;
};

}  // namespace rwkv
