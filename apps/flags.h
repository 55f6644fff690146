// flags.h: a tiny command-line flag parser for the programs in apps/.
//
// Flags are declared with a default and a help line (add), or as true/false switches
// (add_bool), then parsed from "--name value" or "--name=value"; a switch given alone
// ("--resume", at the end or before another --flag) means true. Unknown flags (with the
// closest known name when one is close), missing values, a flag given twice and malformed
// numbers are errors that name the flag and say what was expected. --help prints every flag
// with its default. did_you_mean is also used for task and command names.
// Is not: a general library (no short options, no positional arguments beyond a subcommand).
#pragma once
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace l2l {

// Levenshtein distance: the fewest single-character insertions, deletions and substitutions.
inline size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

// ": did you mean <prefix>NAME?" for the candidate nearest to `word` (the first of equals) when
// it is close: at most 2 edits, or a third of the word's length, and fewer edits than the word
// has characters. Empty when none is close.
inline std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                                const std::string& prefix = "") {
  const size_t limit = std::min(std::max<size_t>(2, word.size() / 3), word.size() > 0 ? word.size() - 1 : 0);
  const std::string* best = nullptr;
  size_t best_d = limit + 1;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = &c;
  }
  return best ? ": did you mean " + prefix + *best + "?" : "";
}

class Flags {
 public:
  explicit Flags(std::string usage) : usage_(std::move(usage)) {}

  void add(const std::string& name, const std::string& def, const std::string& help) {
    if (vals_.count(name)) throw std::logic_error("flag --" + name + " is declared twice");
    order_.push_back(name);
    vals_[name] = def;
    help_[name] = help;
  }
  // A true/false switch: "--name" alone means true; "--name true|false" and "--name=false" work too.
  void add_bool(const std::string& name, bool def, const std::string& help) {
    add(name, def ? "true" : "false", help);
    switches_.insert(name);
  }

  // Returns false if --help was given (help already printed). Throws std::invalid_argument.
  bool parse(int argc, char** argv, int first) {
    std::set<std::string> given;
    for (int i = first; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        print_help();
        return false;
      }
      if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "' (flags look like --name value)");
      std::string name = a.substr(2), val;
      size_t eq = name.find('=');
      if (eq != std::string::npos) val = name.substr(eq + 1), name = name.substr(0, eq);
      if (!vals_.count(name)) throw std::invalid_argument("unknown flag --" + name + did_you_mean(name, order_, "--") + " (see --help)");
      if (!given.insert(name).second) throw std::invalid_argument("flag --" + name + " is given twice");
      bool alone = i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0;
      if (eq == std::string::npos && switches_.count(name) && alone) val = "true";
      else if (eq == std::string::npos && alone) throw std::invalid_argument("flag --" + name + " needs a value");
      else if (eq == std::string::npos) val = argv[++i];
      vals_[name] = val;
      if (switches_.count(name)) boolean(name);  // a bad value fails here, naming the flag
    }
    return true;
  }

  std::string str(const std::string& n) const { return vals_.at(n); }
  long long integer(const std::string& n) const {
    const std::string& v = vals_.at(n);
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end) throw std::invalid_argument("flag --" + n + " expects an integer, got '" + v + "'");
    if (errno == ERANGE || x > 2147483647LL || x < -2147483648LL)
      throw std::invalid_argument("flag --" + n + " is out of range: '" + v + "'");
    return x;
  }
  double number(const std::string& n) const {
    const std::string& v = vals_.at(n);
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) throw std::invalid_argument("flag --" + n + " expects a number, got '" + v + "'");
    return x;
  }
  bool boolean(const std::string& n) const {
    const std::string& v = vals_.at(n);
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off") return false;
    throw std::invalid_argument("flag --" + n + " expects true or false, got '" + v + "'");
  }
  // Every flag as "name = value" lines (the configuration printed and saved with results).
  std::vector<std::pair<std::string, std::string>> all() const {
    std::vector<std::pair<std::string, std::string>> r;
    for (const std::string& n : order_) r.push_back({n, vals_.at(n)});
    return r;
  }
  void print_help() const {
    std::printf("%s\n\nflags (default in brackets):\n", usage_.c_str());
    for (const std::string& n : order_)
      std::printf("  --%-18s %s [%s]\n", n.c_str(), help_.at(n).c_str(), vals_.at(n).c_str());
    if (!switches_.empty())
      std::printf("\ntrue/false switches (%s): --name alone means true; --name false or --name=false turns one off.\n",
                  switch_list().c_str());
  }

 private:
  std::string switch_list() const {
    std::string s;
    for (const std::string& n : order_)
      if (switches_.count(n)) s += (s.empty() ? "--" : ", --") + n;
    return s;
  }
  std::string usage_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> vals_, help_;
  std::set<std::string> switches_;
};

}  // namespace l2l
