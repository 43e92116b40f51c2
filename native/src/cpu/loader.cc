#include "cpu/loader.h"

#include "core/errors.h"

namespace rwkv {
namespace {

std::vector<int64_t> squeeze(const std::vector<int64_t>& s) {
  std::vector<int64_t> out;
  for (auto d : s) if (d != 1) out.push_back(d);
  return out;
}

}  // namespace

const TensorView& Loader::get(const std::string& key) const {
  auto it = t_.find(key);
  if (it == t_.end()) throw RwkvError(model_ + " checkpoint: missing tensor " + key);
  if (!it->second.data && it->second.numel() > 0)
    throw RwkvError(model_ + " checkpoint: tensor " + key + " has no data");
  return it->second;
}

const TensorView& Loader::exact(const std::string& key, const std::vector<int64_t>& shape) const {
  const TensorView& v = get(key);
  if (v.shape != shape) mismatch(key, v.shape, shape_str(shape));
  return v;
}

Mat Loader::view(const std::string& key, int rows, int cols) const {
  const TensorView& v = exact(key, {rows, cols});
  return {v.data, v.dtype, rows, cols};
}

Mat Loader::matrix(const std::string& key, int rows, int cols) const {
  Mat m = view(key, rows, cols);
  m.data = arena_->copy(m.data, size_t(rows) * cols * dtype_size(m.dtype));
  return m;
}

Mat Loader::matrix_transposed(const std::string& key, int rows, int cols) const {
  const Mat m = view(key, rows, cols);
  return {arena_->copy_transposed(m.data, rows, cols, dtype_size(m.dtype)), m.dtype, cols, rows};
}

int Loader::width(const std::string& key, int rows) const {
  const TensorView& v = get(key);
  if (v.shape.size() != 2 || v.shape[0] != rows) mismatch(key, v.shape, "[" + std::to_string(rows) + ", D]");
  return int(v.shape[1]);
}

std::vector<float> Loader::vec(const std::string& key, const std::vector<int64_t>& shape) const {
  const TensorView& v = get(key);
  if (squeeze(v.shape) != squeeze(shape)) mismatch(key, v.shape, shape_str(shape));
  return v.to_f32();
}

void Loader::mismatch(const std::string& key, const std::vector<int64_t>& got, const std::string& want) const {
  throw RwkvError(model_ + " checkpoint: tensor " + key + " has shape " + shape_str(got) + ", expected " + want);
}

}  // namespace rwkv
