// module.cpp: specs_of and ThetaSlices. See module.h.
#include "nn/module.h"

#include <stdexcept>

#include "autodiff/ops.h"

namespace l2l {

std::vector<TensorSpec> specs_of(const std::vector<Param*>& ps, int group) {
  std::vector<TensorSpec> s;
  for (const Param* p : ps) s.push_back({p->name, p->value.shape(), group});
  return s;
}

ThetaSlices::ThetaSlices(Var theta, const std::vector<Param*>& order) {
  size_t off = 0;
  for (Param* p : order) {
    size_t n = p->value.size();
    if (order.size() == 1 && n == theta.size()) {
      slices_[p] = reshape(theta, p->value.shape());  // no slice node for a single tensor
    } else if (off + n <= theta.size()) {
      slices_[p] = reshape(slice(theta, 0, (int)off, (int)(off + n)), p->value.shape());
    }
    off += n;
  }
  if (off != theta.size())
    throw std::invalid_argument("[ThetaSlices] theta has " + std::to_string(theta.size()) + " coordinates, the " +
                                std::to_string(order.size()) + " parameters need " + std::to_string(off));
}

Var ThetaSlices::get(Param& p) {
  auto it = slices_.find(&p);
  if (it == slices_.end()) throw std::logic_error("[ThetaSlices] parameter " + p.name + " is not a slice of theta");
  return it->second;
}

}  // namespace l2l
