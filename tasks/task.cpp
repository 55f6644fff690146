// task.cpp: helpers shared by all tasks (sizes, unflatten).
#include "task.h"

#include <stdexcept>

namespace l2l {

size_t Problem::dim() const {
  size_t n = 0;
  for (const TensorSpec& s : specs()) n += shape_numel(s.shape);
  return n;
}

std::vector<size_t> Problem::group_sizes() const {
  std::vector<size_t> sizes;
  int last = -1;
  for (const TensorSpec& s : specs()) {
    if (s.group < last) throw std::logic_error("Problem specs: groups must be contiguous and increasing (" + s.name + ")");
    if (s.group != last) sizes.push_back(0), last = s.group;
    sizes.back() += shape_numel(s.shape);
  }
  return sizes;
}

std::vector<Var> unflatten(Var theta, const std::vector<TensorSpec>& specs) {
  std::vector<Var> out;
  int off = 0;
  for (const TensorSpec& s : specs) {
    int n = (int)shape_numel(s.shape);
    if (specs.size() == 1 && (size_t)n == theta.size()) {
      out.push_back(reshape(theta, s.shape));
    } else {
      out.push_back(reshape(slice(theta, 0, off, off + n), s.shape));
    }
    off += n;
  }
  if ((size_t)off != theta.size())
    throw std::invalid_argument("[unflatten] theta has " + std::to_string(theta.size()) + " coordinates, specs need " +
                                std::to_string(off));
  return out;
}

}  // namespace l2l
