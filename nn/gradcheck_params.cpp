// gradcheck_params.cpp: see gradcheck_params.h.
#include "nn/gradcheck_params.h"

#include <stdexcept>
#include <unordered_map>

namespace l2l {

namespace {

// Param k is the checker's input Var k.
class InputsAsParams : public ParamSource {
 public:
  InputsAsParams(const std::vector<Param*>& ps, const std::vector<Var>& vs) {
    for (size_t k = 0; k < ps.size(); k++) map_[ps[k]] = vs[k];
  }
  Var get(Param& p) override {
    auto it = map_.find(&p);
    if (it == map_.end()) throw std::logic_error("[gradcheck_params] the function reads " + p.name + ", which is not in the list");
    return it->second;
  }

 private:
  std::unordered_map<const Param*, Var> map_;
};

}  // namespace

GradcheckResult gradcheck_params(const std::vector<Param*>& ps, const ParamFn& f, const GradcheckOptions& opt) {
  std::vector<Tensor> values;
  for (const Param* p : ps) values.push_back(p->value);
  GradcheckResult r = gradcheck(
      [&](Tape& tape, const std::vector<Var>& vs) {
        InputsAsParams src(ps, vs);
        return f(tape, src);
      },
      values, opt);
  if (!r.ok)
    for (size_t k = 0; k < ps.size(); k++) r.report += "  input " + std::to_string(k) + " = " + ps[k]->name + "\n";
  return r;
}

}  // namespace l2l
