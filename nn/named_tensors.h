// named_tensors.h: a list of (name, Tensor) pairs, the unit of optimizer state and checkpoints.
//
// Is: one type alias, in a header of its own so that nn/checkpoint.h (file format) and
//     nn/optim.h (optimizers) can both use it without either depending on the other.
// Is not: a map (order is kept: it is the order in the file and in Optimizer::state()).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tensor.h"

namespace l2l {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

}  // namespace l2l
