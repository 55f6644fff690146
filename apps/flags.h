// flags.h: a tiny command-line flag parser for the programs in apps/.
//
// Flags are declared with a default and a help line, then parsed from "--name value" or
// "--name=value". Unknown flags, missing values and malformed numbers are errors that name
// the flag and say what was expected. --help prints every flag with its default.
// Is not: a general library (no short options, no positional arguments beyond a subcommand).
#pragma once
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace l2l {

class Flags {
 public:
  explicit Flags(std::string usage) : usage_(std::move(usage)) {}

  void add(const std::string& name, const std::string& def, const std::string& help) {
    order_.push_back(name);
    vals_[name] = def;
    help_[name] = help;
  }

  // Returns false if --help was given (help already printed). Throws std::invalid_argument.
  bool parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        print_help();
        return false;
      }
      if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "' (flags look like --name value)");
      std::string name = a.substr(2), val;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        val = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else {
        if (i + 1 >= argc) throw std::invalid_argument("flag --" + name + " needs a value");
        val = argv[++i];
      }
      if (!vals_.count(name)) throw std::invalid_argument("unknown flag --" + name + " (see --help)");
      vals_[name] = val;
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
  }

 private:
  std::string usage_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> vals_, help_;
};

}  // namespace l2l
