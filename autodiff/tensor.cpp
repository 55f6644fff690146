// tensor.cpp: storage and printing for Tensor. See tensor.h.
#include "tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <malloc.h>
#include <sstream>
#include <stdexcept>
#include <xmmintrin.h>
#include <pmmintrin.h>

namespace l2l {

static bool g_poison = false;
void set_poison_uninit(bool on) { g_poison = on; }
bool poison_uninit() { return g_poison; }

void enable_flush_denormals() {
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

void setup_fast_runtime() {
  enable_flush_denormals();
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); i++) r += (i ? "," : "") + std::to_string(s[i]);
  return r + ")";
}

size_t shape_numel(const Shape& s) {
  size_t n = 1;
  for (int d : s) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(s));
    n *= (size_t)d;
  }
  return n;
}

Tensor::Tensor(const Shape& shape) : shape_(shape), size_(shape_numel(shape)) {
  data_.reset(new real[size_]);  // deliberately uninitialized: most ops overwrite it all
  if (g_poison) std::fill_n(data_.get(), size_, std::numeric_limits<real>::infinity());
}

Tensor::Tensor(const Shape& shape, std::initializer_list<real> values) : Tensor(shape) {
  if (values.size() != size_)
    throw std::invalid_argument("Tensor" + shape_str(shape) + " needs " + std::to_string(size_) +
                                " values, got " + std::to_string(values.size()));
  std::copy(values.begin(), values.end(), data_.get());
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0); }

Tensor Tensor::full(const Shape& shape, real v) {
  Tensor t(shape);
  t.fill(v);
  return t;
}

Tensor::Tensor(const Tensor& o) : shape_(o.shape_), size_(o.size_) {
  if (size_) {
    data_.reset(new real[size_]);
    std::memcpy(data_.get(), o.data_.get(), size_ * sizeof(real));
  }
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) *this = Tensor(o);
  return *this;
}

real Tensor::item() const {
  if (size_ != 1) throw std::invalid_argument("item() on a tensor of shape " + shape_str(shape_));
  return data_[0];
}

void Tensor::fill(real v) { std::fill_n(data_.get(), size_, v); }

Tensor Tensor::reshaped(const Shape& s) const {
  Tensor t(*this);
  t.reshape_inplace(s);
  return t;
}

void Tensor::reshape_inplace(const Shape& s) {
  if (shape_numel(s) != size_)
    throw std::invalid_argument("[reshape] cannot view " + shape_str(shape_) + " as " + shape_str(s));
  shape_ = s;
}

std::string Tensor::str(int max_items) const {
  std::ostringstream o;
  o << shape_str(shape_) << " [";
  size_t n = std::min(size_, (size_t)max_items);
  for (size_t i = 0; i < n; i++) o << (i ? ", " : "") << data_[i];
  if (n < size_) o << ", ...";
  o << "]";
  return o.str();
}

}  // namespace l2l
