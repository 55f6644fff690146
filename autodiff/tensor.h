// tensor.h: a dense, row-major, contiguous array of `real` with a shape.
//
// Is: storage + shape + a few helpers (fill, element access, printing). Value semantics:
//     copying a Tensor copies its data; moving is free.
// Is not: autodiff (see tape.h), broadcasting math (see ops.h), views or strides.
//
// Shape letters used across the project: N batch or coordinates, D features, H hidden,
// C channels, (Hh, Ww) image height and width, K kernel size.
// A scalar is a Tensor of shape {1}.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "real.h"

namespace l2l {

using Shape = std::vector<int>;

std::string shape_str(const Shape& s);     // "(3,4)"
size_t shape_numel(const Shape& s);        // product of the dimensions

class Tensor {
 public:
  Tensor() = default;
  // Uninitialized storage (filled with +inf when poisoning is on, see set_poison_uninit).
  explicit Tensor(const Shape& shape);
  Tensor(const Shape& shape, std::initializer_list<real> values);  // exact count required
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, real v);
  static Tensor scalar(real v) { return full({1}, v); }

  Tensor(const Tensor& o);
  Tensor& operator=(const Tensor& o);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  const Shape& shape() const { return shape_; }
  int ndim() const { return (int)shape_.size(); }
  int dim(int i) const { return shape_[i < 0 ? i + ndim() : i]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  real* data() { return data_.get(); }
  const real* data() const { return data_.get(); }
  real& operator[](size_t i) { return data_[i]; }
  real operator[](size_t i) const { return data_[i]; }
  real& at(int i, int j) { return data_[(size_t)i * shape_[1] + j]; }
  real at(int i, int j) const { return data_[(size_t)i * shape_[1] + j]; }
  real item() const;  // the value of a one-element tensor

  void fill(real v);
  Tensor reshaped(const Shape& s) const;   // same data, new shape (sizes must agree)
  void reshape_inplace(const Shape& s);    // only for tensors nobody saved for backward
  std::string str(int max_items = 8) const;  // "(2,3) [1, 2, 3, 4, 5, 6]"

 private:
  Shape shape_;
  size_t size_ = 0;
  std::unique_ptr<real[]> data_;
};

// Testing aid: when on, every uninitialized Tensor is filled with +inf, so an entry that an
// op forgets to write shows up as a non-finite value instead of silently reading garbage.
void set_poison_uninit(bool on);
bool poison_uninit();

// Flush denormals to zero in this thread (saturated sigmoids otherwise produce denormals
// that make every later multiply 10-100x slower).
void enable_flush_denormals();
// What the programs call at start: flush denormals, and keep freed memory in the process
// (glibc otherwise returns big blocks to the OS at every tape.clear(), and each step pays
// the page faults again: measured 3x slower on the LSTM step).
void setup_fast_runtime();

}  // namespace l2l
