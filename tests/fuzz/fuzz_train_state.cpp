// tests/fuzz/fuzz_train_state.cpp — libFuzzer target for the training state and phi as l2l
// reads them back: load_run_state (--resume, tasks/run/train_state.h) and
// load_learned_optimizer (eval, art_images; tasks/learned_optimizer.h).
//
// What it is: the input is a checkpoint without its last 8 bytes; the target appends their
// FNV-1a checksum (mutations then reach the metadata and tensors instead of stopping at the
// checksum), then (1) decodes it and resumes from it with the optimizer and flags of
// train_state_seed.h, (2) writes it to a temporary file and loads it as a phi, whose nets come
// from its metadata. A std::runtime_error is the expected answer to bad bytes; a crash, a
// sanitizer report, any other exception, a hang or an allocation past libFuzzer's limit is a
// bug. An accepted state must have histories as long as its epochs and finite best_val, untrained_val.
// Built by `make fuzz`; seeded by make_seeds (the state of a 2-epoch run).
#include <stdlib.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "tests/fuzz/train_state_seed.h"

static const std::string& path() {
  static const std::string p = [] {
    char tmpl[] = "/tmp/l2l_fuzz_train_state.XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    return std::string(tmpl) + "/train_state.ckpt";
  }();
  return p;
}

static void resume(const std::vector<unsigned char>& b) {
  l2l::Checkpoint ck = l2l::decode_checkpoint(b.data(), b.size(), path());
  ck.source = path();
  l2l::rename_old_readout(ck);
  l2l::LearnedOptimizer opt({l2l_fuzz::net()}, 8);
  l2l::Adam adam(1e-3);
  const l2l::MetaState st = l2l::load_run_state(path(), ck, l2l_fuzz::settings(), opt, adam);
  if (st.train_history.size() != (size_t)st.next_epoch || st.val_history.size() != (size_t)st.next_epoch ||
      std::isnan(st.best_val) || std::isnan(st.untrained_val))
    std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> b(data, data + size);
  const uint64_t sum = l2l::fnv1a64(b.data(), b.size());
  b.resize(size + 8);
  std::memcpy(b.data() + size, &sum, 8);
  try {
    resume(b);
  } catch (const std::runtime_error&) {
  }
  {
    std::ofstream f(path(), std::ios::binary | std::ios::trunc);
    f.write((const char*)b.data(), (std::streamsize)b.size());
    if (!f) std::abort();
  }
  try {
    l2l::load_learned_optimizer(path());
  } catch (const std::runtime_error&) {
  }
  return 0;
}
