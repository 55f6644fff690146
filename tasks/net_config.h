// net_config.h: the settings of one learned-optimizer net (layers, units, input preprocessing,
// output scale, and the options beyond the paper), the paper's choice per task, and how a
// checkpoint records them so that evaluation rebuilds the optimizer without the training flags.
// The meaning of each field: tasks/learned_optimizer.h (the net) and tasks/preprocess.h.
// Is not: the net itself (tasks/learned_optimizer.h).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace l2l {

struct NetConfig {
  int layers = 2;                 // LSTM layers (0: a linear map of the preprocessed gradient)
  int hidden = 20;                // units per layer
  std::string preprocess = "none";  // "none", "logsign" or "adamnorm" (5)
  double p = 10;                  // logsign parameter (paper 10, DeepMind k = 5)
  double beta1 = 0.9, beta2 = 0.999;  // adamnorm moment decays (5) (Adam's defaults)
  int gac = 0;                    // global averaging cells per layer (4); 0 = off (the paper's net)
  double out_scale = 1.0;         // paper: 0.1 for MNIST; DeepMind 0.01
  bool fused = true;              // fused LSTM cell op (false: the composed reference)
  // Init: the LSTM's own (nn/lstm.h: truncated normal, forget-gate bias 1); the read-out
  // weights ~ U(-1/sqrt(H), 1/sqrt(H)) and bias 0.
  std::string describe() const;
  // Throws std::invalid_argument "<source><field> must be ..." unless every field is in range:
  // 0 <= layers <= 8, 1 <= hidden <= 1024, preprocess known, p and out_scale finite and > 0
  // (p <= 100), beta1, beta2 in [0, 1), 0 <= gac <= hidden (and gac = 0 for a linear net).
  // source: "flag --" or "FILE: metadata net0." (the field names are the flags').
  void check(const std::string& source) const;
};

// The "auto" choices, in one place (the --help of l2l train shows them): what the paper uses
// for a task. quadratic and simple: no preprocessing, no output scaling (paper 3.1, and the
// authors' code); art: Appendix A preprocessing, no output scaling (paper 3.4); every other
// task: Appendix A preprocessing (p = 10) and output x 0.1.
NetConfig paper_net_config(const std::string& task);

// The nets' configurations as checkpoint metadata ("nets" = K, then "net<k>.layers", ".hidden",
// ".preprocess", ".p", ".out-scale", ".cell", ".gac", ".adam-beta1", ".adam-beta2"), and back: a
// checkpoint describes its optimizer, so evaluation rebuilds it without the training flags.
// Checkpoints written before gac and adamnorm existed lack the last three keys: they load with
// gac = 0 and the default betas (unused unless preprocess is adamnorm), i.e. as trained.
// Last comes "nets.digest", the FNV-1a of every entry before it: a file whose configuration was
// edited (gac 0 -> 5 changes no tensor shape) or lost a key reads back as another
// configuration, whose digest differs, and is refused. (Files written before the digest
// existed have none and are read as they are.)
std::vector<std::pair<std::string, std::string>> net_config_meta(const std::vector<NetConfig>& cfgs);
// Throws std::runtime_error naming `path` and the key when a value is missing or out of range,
// and naming the configuration it would run when the digest does not match it.
std::vector<NetConfig> net_configs_from_meta(const std::vector<std::pair<std::string, std::string>>& meta,
                                             const std::string& path);

}  // namespace l2l
