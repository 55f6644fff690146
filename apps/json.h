// json.h: a minimal JSON writer for the results files of l2l eval.
//
// Values are appended in order; the writer puts the commas and the indentation. Numbers are
// written with 8 significant digits, and a non-finite number as null (JSON has no inf/NaN:
// readers find the count of diverged runs next to it).
//   Json j;  j.open('{').key("name").str("adam").key("mean").nums({1, 0.5}).close('}');
// Is not: a parser, or a general serializer (no escapes beyond \" \\ \n and control bytes).
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace l2l {

class Json {
 public:
  Json& open(char bracket) {  // '{' or '['
    item();
    text_ += bracket;
    first_.push_back(true);
    return *this;
  }
  Json& close(char bracket) {  // '}' or ']'
    first_.pop_back();
    text_ += "\n" + std::string(2 * first_.size(), ' ') + bracket;
    return *this;
  }
  Json& key(const std::string& k) {
    item();
    text_ += quote(k) + ": ";
    after_key_ = true;
    return *this;
  }
  Json& str(const std::string& v) { return raw(quote(v)); }
  Json& num(double v) { return raw(number(v)); }
  Json& integer(long long v) { return raw(std::to_string(v)); }
  Json& boolean(bool v) { return raw(v ? "true" : "false"); }
  Json& nums(const std::vector<double>& v) {  // an array on one line
    std::string s = "[";
    for (size_t i = 0; i < v.size(); i++) s += (i ? "," : "") + number(v[i]);
    return raw(s + "]");
  }
  std::string text() const { return text_ + "\n"; }

  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char b[40];
    std::snprintf(b, sizeof b, "%.8g", v);
    return b;
  }
  static std::string quote(const std::string& s) {
    std::string r = "\"";
    for (unsigned char ch : s) {
      if (ch == '"' || ch == '\\') r += '\\', r += (char)ch;
      else if (ch == '\n') r += "\\n";
      else if (ch < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", ch); r += b; }
      else r += (char)ch;
    }
    return r + "\"";
  }

 private:
  Json& raw(const std::string& v) {
    item();
    text_ += v;
    return *this;
  }
  // Before a value or key: a comma and a new line unless it is the first in its container, or
  // nothing at all right after a key.
  void item() {
    if (after_key_) { after_key_ = false; return; }
    if (first_.empty()) return;
    text_ += first_.back() ? "\n" : ",\n";
    first_.back() = false;
    text_ += std::string(2 * first_.size(), ' ');
  }
  std::string text_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace l2l
