// net_config.cpp: see net_config.h.
#include "tasks/net_config.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "nn/checkpoint.h"

namespace l2l {

std::string NetConfig::describe() const {
  std::ostringstream s;
  if (layers == 0) s << "linear map (0 LSTM layers)";
  else s << layers << "x" << hidden << " LSTM" << (fused ? " (fused cell)" : " (composed cell)");
  s << ", preprocess " << preprocess;
  if (preprocess == "logsign") s << " p=" << p;
  if (preprocess == "adamnorm") s << " beta1=" << beta1 << " beta2=" << beta2;
  s << ", output x" << out_scale;
  if (gac > 0) s << ", " << gac << " global averaging cells per layer";
  return s.str();
}

void NetConfig::check(const std::string& source) const {
  auto bad = [&](const char* field, const std::string& m) { throw std::invalid_argument(source + field + " " + m); };
  if (layers < 0 || layers > 8) bad("layers", "must be in 0..8, got " + std::to_string(layers));
  if (hidden < 1 || hidden > 1024) bad("hidden", "must be in 1..1024, got " + std::to_string(hidden));
  if (preprocess != "none" && preprocess != "logsign" && preprocess != "adamnorm")
    bad("preprocess", "must be none, logsign or adamnorm, got '" + preprocess + "'");
  if (!std::isfinite(p) || !(p > 0) || p > 100) bad("p", "must be finite, > 0 and <= 100 (the paper uses 10), got " + std::to_string(p));
  if (!std::isfinite(out_scale) || !(out_scale > 0)) bad("out-scale", "must be finite and > 0, got " + std::to_string(out_scale));
  if (!(beta1 >= 0 && beta1 < 1)) bad("adam-beta1", "must be in [0, 1), got " + std::to_string(beta1));
  if (!(beta2 >= 0 && beta2 < 1)) bad("adam-beta2", "must be in [0, 1), got " + std::to_string(beta2));
  if (gac < 0 || gac > hidden) bad("gac", "must be in 0..hidden (" + std::to_string(hidden) + "), got " + std::to_string(gac));
  if (gac > 0 && layers == 0) bad("gac", "needs LSTM layers (a linear net has no cells to average), got --layers 0");
}

NetConfig paper_net_config(const std::string& task) {
  NetConfig c;
  bool small = task == "quadratic" || task == "simple";
  c.preprocess = small ? "none" : "logsign";
  c.out_scale = small || task == "art" ? 1.0 : 0.1;  // Neural Art: no output scaling (paper 3.4)
  return c;
}

// ---- the optimizer's description in a checkpoint --------------------------------------------

namespace {

using Meta = std::vector<std::pair<std::string, std::string>>;

// The entries without the digest: what the digest is a digest of.
Meta config_entries(const std::vector<NetConfig>& cfgs) {
  Meta m = {{"nets", std::to_string(cfgs.size())}};
  for (size_t k = 0; k < cfgs.size(); k++) {
    const NetConfig& c = cfgs[k];
    std::string p = "net" + std::to_string(k) + ".";
    m.push_back({p + "layers", std::to_string(c.layers)});
    m.push_back({p + "hidden", std::to_string(c.hidden)});
    m.push_back({p + "preprocess", c.preprocess});
    m.push_back({p + "p", exact_text(c.p)});
    m.push_back({p + "out-scale", exact_text(c.out_scale)});
    m.push_back({p + "cell", c.fused ? "fused" : "composed"});
    m.push_back({p + "gac", std::to_string(c.gac)});
    m.push_back({p + "adam-beta1", exact_text(c.beta1)});
    m.push_back({p + "adam-beta2", exact_text(c.beta2)});
  }
  return m;
}

// FNV-1a of "key=value\n" for every entry, as 16 hex digits.
std::string digest(const Meta& m) {
  std::string text;
  for (const auto& [k, v] : m) text += k + "=" + v + "\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                (unsigned long long)fnv1a64(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  return hex;
}

// The configuration read back must be the one the digest was written for.
void check_digest(const MetadataReader& r, const std::vector<NetConfig>& cfgs, const std::string& path) {
  if (!r.has("nets.digest")) return;  // written before the digest existed: taken as it is
  if (r.str("nets.digest") == digest(config_entries(cfgs))) return;
  std::string now;
  for (size_t k = 0; k < cfgs.size(); k++) now += "\n  net" + std::to_string(k) + ": " + cfgs[k].describe();
  throw std::runtime_error(path + ": its optimizer metadata (nets, net<k>.*) does not match the digest l2l saved with "
                           "it (nets.digest): a value was edited or deleted after the file was written. As it reads "
                           "now it would run:" + now + "\nbut phi was not trained as that. Fix: use the file as l2l "
                           "wrote it (a run's train_state.ckpt holds the same phi), or train again.");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> net_config_meta(const std::vector<NetConfig>& cfgs) {
  Meta m = config_entries(cfgs);
  m.push_back({"nets.digest", digest(m)});
  return m;
}


std::vector<NetConfig> net_configs_from_meta(const std::vector<std::pair<std::string, std::string>>& meta,
                                             const std::string& path) {
  MetadataReader r(meta, path);
  long K = r.integer("nets", 1, 64);
  std::vector<NetConfig> cfgs;
  for (long k = 0; k < K; k++) {
    std::string p = "net" + std::to_string(k) + ".";
    NetConfig c;
    c.layers = (int)r.integer(p + "layers", 0, 8);
    c.hidden = (int)r.integer(p + "hidden", 1, 1024);
    c.preprocess = r.str(p + "preprocess");
    c.p = r.number(p + "p");
    c.out_scale = r.number(p + "out-scale");
    const std::string& cell = r.str(p + "cell");
    if (cell != "fused" && cell != "composed") throw std::runtime_error(path + ": metadata " + p + "cell = '" + cell + "'");
    c.fused = cell == "fused";
    // Keys added with the options beyond the paper: absent in older checkpoints = option off.
    if (r.has(p + "gac")) c.gac = (int)r.integer(p + "gac", 0, 1024);
    if (r.has(p + "adam-beta1")) c.beta1 = r.number(p + "adam-beta1");
    if (r.has(p + "adam-beta2")) c.beta2 = r.number(p + "adam-beta2");
    try {
      c.check(path + ": metadata " + p);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
    cfgs.push_back(c);
  }
  check_digest(r, cfgs, path);
  return cfgs;
}

}  // namespace l2l
