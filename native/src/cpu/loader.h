// Looks the tensors of a checkpoint up by key and checks their shapes, naming the key and both
// shapes in every error. Matrices are copied into the loader's WeightArena (which the model keeps),
// except those read a row at a time (the embedding), which stay views of the caller's memory; small
// per-channel tensors are copied to fp32.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/mat.h"
#include "cpu/norm.h"
#include "cpu/weight_arena.h"

namespace rwkv {

class Loader {
 public:
  // `model` names the format in messages ("RWKV-7").
  Loader(const TensorMap& tensors, std::string model)
      : t_(tensors), model_(std::move(model)), arena_(std::make_shared<WeightArena>()) {}
  const std::string& model() const { return model_; }
  // Where matrix() puts its copies: the model keeps it.
  std::shared_ptr<const WeightArena> arena() const { return arena_; }

  // The tensor, any shape.
  const TensorView& get(const std::string& key) const;
  // A tensor of exactly this shape.
  const TensorView& exact(const std::string& key, const std::vector<int64_t>& shape) const;
  // A [rows, cols] matrix, copied into arena().
  Mat matrix(const std::string& key, int rows, int cols) const;
  // A [rows, cols] matrix copied into arena() as its [cols, rows] transpose.
  Mat matrix_transposed(const std::string& key, int rows, int cols) const;
  // A [rows, cols] matrix as a view of the caller's memory (one read a row at a time).
  Mat view(const std::string& key, int rows, int cols) const;
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
  std::shared_ptr<WeightArena> arena_;
};

}  // namespace rwkv
