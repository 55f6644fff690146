// same_state.cpp: `build/same_state A B` says whether two training states (train_state.ckpt of
// `l2l train`) hold the same training: every tensor (phi, the meta-optimizer's Adam state, the
// best phi) with the same names, shapes and bits, and the same values for every metadata key
// the two share (epoch, histories, problem counter, the flags), except where the run was
// written and how it was launched (out, resume, overwrite, threads, verbose, stop-after). A key only one of
// them has is a flag added to or removed from l2l since: listed, not compared (a flag that
// changed the training would change the tensors). Exit 0 when the same, 1 when not (each
// difference printed), 2 on an unreadable file. Used by tests/scripts/test_zoo_reproduce.sh.
// Is not: a tolerance check; the states must agree to the last bit.
#include <cstdio>
#include <cstring>
#include <set>

#include "nn/checkpoint.h"

using namespace l2l;

namespace {

const std::set<std::string> kWhereAndHow = {"out", "resume", "overwrite", "threads", "verbose", "stop-after"};

// The differences between the metadata of a and b; keys only one has go to `unshared`.
int compare_meta(const Checkpoint& a, const Checkpoint& b, std::string& unshared) {
  int diffs = 0;
  for (const auto& [k, v] : a.meta) {
    const std::string* w = b.meta_value(k);
    if (!w) {
      unshared += " " + k;
    } else if (!kWhereAndHow.count(k) && *w != v) {
      std::printf("metadata %s: %s vs %s\n", k.c_str(), v.c_str(), w->c_str());
      diffs++;
    }
  }
  for (const auto& [k, v] : b.meta)
    if (!a.meta_value(k)) unshared += " " + k;
  return diffs;
}

int compare_tensors(const Checkpoint& a, const Checkpoint& b) {
  int diffs = 0;
  if (a.tensors.size() != b.tensors.size()) {
    std::printf("tensors: %zu vs %zu\n", a.tensors.size(), b.tensors.size());
    diffs++;
  }
  for (const auto& [name, t] : a.tensors) {
    const Tensor* u = b.tensor(name);
    if (!u) {
      std::printf("tensor %s: only in the first\n", name.c_str());
      diffs++;
    } else if (u->shape() != t.shape()) {
      std::printf("tensor %s: shapes differ\n", name.c_str());
      diffs++;
    } else if (std::memcmp(u->data(), t.data(), sizeof(*t.data()) * t.size()) != 0) {
      std::printf("tensor %s: values differ\n", name.c_str());
      diffs++;
    }
  }
  return diffs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || !std::strcmp(argv[1], "--help")) {
    std::fprintf(stderr, "usage: same_state A.ckpt B.ckpt\nWhether two training states hold the same training, bit for bit "
                         "(the tensors and the shared metadata; not where or how the run was launched).\n");
    return argc == 2 ? 0 : 2;
  }
  try {
    Checkpoint a = load_checkpoint(argv[1]), b = load_checkpoint(argv[2]);
    std::string unshared;
    int diffs = compare_meta(a, b, unshared) + compare_tensors(a, b);
    if (!unshared.empty()) std::printf("not compared (a flag added or removed since):%s\n", unshared.c_str());
    std::printf("%s\n", diffs ? "DIFFERENT" : "same training state");
    return diffs ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "same_state: error: %s\n", e.what());
    return 2;
  }
}
