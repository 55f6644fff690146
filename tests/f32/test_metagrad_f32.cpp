// test_metagrad_f32.cpp (float32 build): writes one MNIST meta-iteration's meta-gradient to
// $L2L_METAGRAD_OUT, for tests/test_metagrad_f32.cpp (double build) to compare. Run by
// `make test` (skipped when the binary is run alone, since it only writes a file).
#include <cstdlib>

#include "doctest/doctest.h"
#include "tests/metagrad_window.h"

TEST_CASE("write the float32 meta-gradient of one MNIST window" * doctest::skip()) {
  const char* out = std::getenv("L2L_METAGRAD_OUT");
  REQUIRE_MESSAGE(out, "set L2L_METAGRAD_OUT to the file to write (make test does)");
  l2l::Checkpoint ck;
  ck.tensors = l2l::test::mnist_window_metagrad();
  l2l::save_checkpoint(out, ck);
}
