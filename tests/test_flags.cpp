// tests/test_flags.cpp — doctest cases for apps/flags.h (header-only).
//
// What this file is: parsing as the programs see it: true/false switches given alone (at the
// end, before another --flag) or with a value (--name true, --name=false); a value flag still
// needs its value; a flag given twice and an unknown flag are refused, the latter with the
// closest known name when one is close (edit_distance, did_you_mean); --help's note on switches;
// comma lists (apps/common.h): an empty item is an error naming the flag, an empty value an empty list.
// What it is not: a test of the programs' flags (tests/scripts/test_flags.sh runs build/l2l).
#include <string>
#include <vector>

#include "apps/common.h"
#include "apps/flags.h"
#include "doctest/doctest.h"

using namespace l2l;

namespace {

Flags declared() {
  Flags f("usage: test");
  f.add("task", "quadratic", "problem family");
  f.add("out", "runs/train", "output directory");
  f.add_bool("resume", false, "continue");
  f.add_bool("include-start", true, "count f at the first point");
  return f;
}

// Parses the words after a program name; returns the message of the error thrown, or "".
std::string parse_error(Flags& f, std::vector<std::string> words) {
  std::vector<char*> argv = {const_cast<char*>("prog")};
  for (std::string& w : words) argv.push_back(w.data());
  try {
    f.parse((int)argv.size(), argv.data(), 1);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("flags: a switch alone means true, at the end or before another flag") {
  Flags a = declared(), b = declared();
  CHECK(parse_error(a, {"--resume"}) == "");
  CHECK(a.boolean("resume"));
  CHECK(parse_error(b, {"--resume", "--out", "d"}) == "");
  CHECK(b.boolean("resume"));
  CHECK(b.str("out") == "d");
}

TEST_CASE("flags: a switch still takes true/false as the next word or after '='") {
  Flags a = declared(), b = declared(), c = declared();
  CHECK(parse_error(a, {"--include-start", "false", "--resume", "true"}) == "");
  CHECK(!a.boolean("include-start"));
  CHECK(a.boolean("resume"));
  CHECK(parse_error(b, {"--include-start=false"}) == "");
  CHECK(!b.boolean("include-start"));
  CHECK(parse_error(c, {"--resume", "maybe"}) == "flag --resume expects true or false, got 'maybe'");
}

TEST_CASE("flags: a value flag needs its value; a flag given twice is refused") {
  Flags a = declared(), b = declared(), c = declared(), d = declared();
  CHECK(parse_error(a, {"--out"}) == "flag --out needs a value");
  CHECK(parse_error(b, {"--out", "--resume"}) == "flag --out needs a value");
  CHECK(parse_error(c, {"--out", "a", "--out=b"}) == "flag --out is given twice");
  CHECK(parse_error(d, {"--resume", "--resume", "false"}) == "flag --resume is given twice");
}

TEST_CASE("flags: an unknown flag names the closest known one when it is close") {
  Flags a = declared(), b = declared();
  CHECK(parse_error(a, {"--tsk", "quadratic"}) == "unknown flag --tsk: did you mean --task? (see --help)");
  CHECK(parse_error(b, {"--zzzzzzzz", "1"}) == "unknown flag --zzzzzzzz (see --help)");
}

TEST_CASE("flags: edit distance and did_you_mean") {
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("trian", "train") == 2);
  CHECK(edit_distance("quadratc", "quadratic") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  std::vector<std::string> tasks = {"quadratic", "simple", "mnist", "cifar", "art"};
  CHECK(did_you_mean("quadratc", tasks) == ": did you mean quadratic?");
  CHECK(did_you_mean("mnst", tasks) == ": did you mean mnist?");
  CHECK(did_you_mean("imagenet", tasks) == "");
  CHECK(did_you_mean("x", {"p"}) == "");  // one letter: every one-letter name is one edit away
  CHECK(did_you_mean("tsk", {"task"}, "--") == ": did you mean --task?");
}

TEST_CASE("flags: a comma list with an empty item is refused, naming the flag; an empty value is an empty list") {
  CHECK(comma_list("", "curriculum").empty());
  CHECK(comma_list("10", "curriculum") == std::vector<std::string>{"10"});
  CHECK(comma_list("10,20", "curriculum") == std::vector<std::string>{"10", "20"});
  for (const char* bad : {",", "10,,20", "10,20,", ",10"})
    CHECK_THROWS_WITH(comma_list(bad, "curriculum"), doctest::Contains("flag --curriculum has an empty item"));
  CHECK(parse_ints("", "mnist-hidden").empty());
  CHECK(parse_ints("20,20", "mnist-hidden") == std::vector<int>{20, 20});
  CHECK_THROWS_WITH(parse_ints("20,,20", "mnist-hidden"), doctest::Contains("flag --mnist-hidden has an empty item in '20,,20'"));
}
