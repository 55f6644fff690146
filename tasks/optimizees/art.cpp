// art.cpp: the Neural Art optimizee of the paper's Figures 8 and 9 (Gatys et al. 2015 style
// transfer with the image's pixels as theta).
//
//   theta (3 S^2)  ->  x (1,3,S,S), RGB on the [0,1] scale
//   F_l = VGG-19 relu_l(x)  (tasks/optimizees/vgg.h; the forward pass stops at relu3_1)
//   L_content = mean over (C,H,W) of (F_relu2_2(x) - F_relu2_2(c))^2
//   L_style   = sum over l in {relu1_1, relu2_1, relu3_1} of mean over (C,C) of (G_l(x) - G_l(s))^2,
//               G = F F^T / (C H W)  (gram(), tasks/optimizees/art.h)
//   L_tv      = tv_loss(x): mean squared differences of vertical and horizontal neighbours
//   f = alpha L_content + beta L_style + gamma L_tv
// Only conv1_1 .. conv3_4 exist in the data; relu2_2 is the content layer (relu3_2 would cost
// one more 256x256 conv, a third more per step, for a layer the style terms already reach).
//
// Weights and start (default_art_weights, kArtInitNoise), chosen so that the result is styled
// (Gatys et al.: the painting's palette and strokes, the photo recognizable) within the 128
// steps of the paper, by measurement: tuned Adam (lr 0.03) and L-BFGS, 128 steps, on the first
// 3 test crops at 64x64 (starry night) and 2 at 128x128 (the scream), looking at the images and
// at the style ratio = L_style(result) / L_style(content photo) (the photo's own distance to the
// style; 1 = not styled at all):
//   alpha, beta, gamma     start            ratio 64 / 128     what the images show
//   4e-5, 4e-5, 20         content + noise  0.34 / -           the photo, smoothed; no style
//   4e-5, 3e-4, 2          content          0.061 / 0.072      palette, faint strokes, grid marks
//   4e-5, 5e-4, 10         content          0.041 / 0.046      palette and strokes, photo clear
//   4e-5, 1e-3, 2 or 10    content          0.024 / 0.025      strokes everywhere, photo fading
//   4e-5, 4e-3, 2          content + noise  0.011 / -          the painting's texture, noisy
//   4e-5, 1e-3, 2          grey + noise     0.024 / -          noisier, content 12% higher
// (Adam and L-BFGS agree within a few % on the ratio.) The noise of theta_0 stays visible in the
// result after 128 steps (the noise of 0.1 does at every beta tried), and a grey start ends
// farther from the photo, so theta_0 is the content crop itself (kArtInitNoise = 0): the
// content term starts at 0 and the style term drives the first steps. gamma = 10 smooths the
// pixel-grid marks the style term leaves (2 and 0.5 leave more, at the same ratio).
// At theta_0 the weighted style term is 10 .. 13 at 64x64 and 8 .. 10 at 128x128.

// Problems. Photos are split into three fixed, disjoint sets (art_*_photos). A problem's seed
// split picks the set, its function seed a photo of it, a crop and a flip: the photo is scaled
// so its short side is 2 S (Mitchell filter, stb_image_resize) and an S x S window is cut at a
// random place, mirrored with probability 1/2. The style painting is scaled to short side S and
// its central S x S square taken; its Gram matrices are computed once per Task.
// theta_0 = the content crop + N(0, init_noise^2) per pixel (init rng; default kArtInitNoise
// = 0: the crop itself), or mid grey (0.5) + that noise with ArtOptions::start_from_noise.
// Deterministic (no minibatch: f does not depend on batch_rng).
// Is not: a style-transfer program (no pyramid, no colour preservation, no clamping of theta).
#include "tasks/optimizees/art.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "tasks/optimizees/vgg.h"

namespace l2l {

Var gram(Var features) {
  const Shape& s = features.shape();
  if (s.size() != 4 || s[0] != 1) throw std::invalid_argument("[gram] expected features (1,C,H,W), got " + shape_str(s));
  int C = s[1], HW = s[2] * s[3];
  Var F = reshape(features, {C, HW});
  return matmul(F, F, false, true) * real(1.0 / ((double)C * HW));
}

Var tv_loss(Var x) {
  const Shape& s = x.shape();
  if (s.size() != 4 || s[2] < 2 || s[3] < 2) throw std::invalid_argument("[tv_loss] expected x (N,C,H,W), H,W >= 2, got " + shape_str(s));
  int H = s[2], W = s[3];
  Var dy = slice(x, 2, 1, H) - slice(x, 2, 0, H - 1);
  Var dx = slice(x, 3, 1, W) - slice(x, 3, 0, W - 1);
  return mean(square(dy)) + mean(square(dx));
}

ArtWeights default_art_weights() { return {4e-5, 5e-4, 10.0}; }

const std::vector<std::string>& art_train_photos() {
  static const std::vector<std::string> v = {
      "kodak_kodim01.png", "kodak_kodim02.png", "kodak_kodim03.png", "kodak_kodim04.png",     "kodak_kodim05.png",
      "kodak_kodim06.png", "kodak_kodim07.png", "kodak_kodim08.png", "kodak_kodim09.png",     "kodak_kodim10.png",
      "kodak_kodim11.png", "kodak_kodim12.png", "kodak_kodim13.png", "kodak_kodim14.png",     "kodak_kodim15.png",
      "kodak_kodim16.png", "skimage_astronaut.png", "skimage_coffee.png"};
  return v;
}
const std::vector<std::string>& art_val_photos() {
  static const std::vector<std::string> v = {"kodak_kodim17.png", "kodak_kodim18.png", "kodak_kodim19.png",
                                             "kodak_kodim20.png", "skimage_chelsea.png"};
  return v;
}
const std::vector<std::string>& art_test_photos() {
  static const std::vector<std::string> v = {"kodak_kodim21.png", "kodak_kodim22.png", "kodak_kodim23.png",
                                             "kodak_kodim24.png", "skimage_rocket.jpg", "skimage_hubble_deep_field.jpg"};
  return v;
}

Image theta_image(const Tensor& theta, int size) {
  if (theta.size() != (size_t)3 * size * size)
    throw std::invalid_argument("[theta_image] theta has " + std::to_string(theta.size()) + " entries, expected 3 x " +
                                std::to_string(size) + "^2");
  Image im{3, size, size, std::vector<float>(theta.size())};
  for (size_t i = 0; i < theta.size(); i++) im.pixels[i] = (float)theta[i];
  return im;
}

namespace {

constexpr const char* kContent = "relu2_2";
constexpr const char* kDeepest = "relu3_1";
const char* const kStyleLayers[] = {"relu1_1", "relu2_1", "relu3_1"};

Tensor image_tensor(const Image& im) {
  Tensor t({1, 3, im.height, im.width});
  for (size_t i = 0; i < im.pixels.size(); i++) t[i] = im.pixels[i];
  return t;
}

// The features of a fixed image, as constants (no graph).
std::map<std::string, Tensor> feature_values(const Vgg& vgg, const Image& im) {
  NoGradGuard values_only;
  Tape tape;
  std::map<std::string, Tensor> out;
  for (auto& [name, v] : vgg_features(vgg, tape.constant(image_tensor(im)), kDeepest)) out[name] = v.value();
  return out;
}

// What every problem of a Task shares: the network, the style and its Grams, the photos.
struct ArtShared {
  ArtOptions o;
  ArtWeights w;
  Vgg vgg;
  Image style;
  std::vector<Tensor> style_grams;  // per kStyleLayers
  std::vector<std::vector<Image>> photos;   // [Split][i], short side 2 S
  std::vector<std::vector<std::string>> photo_names;
};

class ArtProblem : public Problem {
 public:
  ArtProblem(std::shared_ptr<const ArtShared> sh, Image content, std::string photo)
      : sh_(std::move(sh)), content_(std::move(content)), photo_(std::move(photo)) {
    content_target_ = feature_values(sh_->vgg, content_).at(kContent);
  }

  std::vector<TensorSpec> specs() const override {
    int S = sh_->o.size;
    return {TensorSpec{"image", {3 * S * S}, 0}};
  }

  Tensor init(Rng& rng) const override {
    Tensor theta({(int)content_.pixels.size()});
    const bool grey = sh_->o.start_from_noise;
    for (size_t i = 0; i < theta.size(); i++)
      theta[i] = (grey ? real(0.5) : content_.pixels[i]) + real(sh_->o.init_noise * rng.normal());
    return theta;
  }

  Var loss(Tape& tape, Var theta, Rng&) override {
    Terms t = terms(tape, theta);
    return t.content * real(sh_->w.alpha) + t.style * real(sh_->w.beta) + t.tv * real(sh_->w.gamma);
  }

  // The three weighted terms at theta: which one the optimizer traded for which.
  std::vector<std::pair<std::string, double>> final_metrics(const Tensor& theta) override {
    NoGradGuard values_only;
    Tape tape;
    Terms t = terms(tape, tape.constant(theta));
    return {{"content", sh_->w.alpha * t.content.item()},
            {"style", sh_->w.beta * t.style.item()},
            {"tv", sh_->w.gamma * t.tv.item()}};
  }

  ArtProblemImages images() const { return {content_, sh_->style, photo_}; }

 private:
  struct Terms {
    Var content, style, tv;
  };
  Terms terms(Tape& tape, Var theta) const {
    int S = sh_->o.size;
    Var x = reshape(theta, {1, 3, S, S});
    std::map<std::string, Var> F = vgg_features(sh_->vgg, x, kDeepest);
    Var content = mean(square(F.at(kContent) - tape.constant(content_target_)));
    Var style;
    for (int l = 0; l < 3; l++) {
      Var d = mean(square(gram(F.at(kStyleLayers[l])) - tape.constant(sh_->style_grams[l])));
      style = l == 0 ? d : style + d;
    }
    return {content, style, tv_loss(x)};
  }

  std::shared_ptr<const ArtShared> sh_;
  Image content_;
  std::string photo_;
  Tensor content_target_;
};

std::string art_dir(const ArtOptions& o, const char* sub) { return (std::filesystem::path(o.data_dir) / "art" / sub).string(); }

// " a b c": the names --art-style accepts, the files of art/style/ without extension, sorted.
std::string style_names(const ArtOptions& o) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(art_dir(o, "style"), ec)) names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string have;
  for (const std::string& n : names) have += " " + n;
  return have;
}

// The painting art/style/NAME.{jpg,png,jpeg}. NAME is a file name, never a path: one with a
// '/' or a leading '.' (../content/..., ./x, .hidden) is refused before anything is read.
Image load_style(const ArtOptions& o) {
  if (o.style.empty() || o.style[0] == '.' || o.style.find('/') != std::string::npos)
    throw std::invalid_argument("[art] --art-style takes a style's name (a file of " + art_dir(o, "style") +
                                " without extension), not a path: '" + o.style + "'; one of:" + style_names(o));
  for (const char* ext : {".jpg", ".png", ".jpeg"}) {
    std::string p = art_dir(o, "style") + "/" + o.style + ext;
    if (std::filesystem::exists(p)) return center_square(load_image_short_side(p, o.size), o.size);
  }
  throw std::invalid_argument("[art] no style image " + o.style + ".jpg, .png or .jpeg in " + art_dir(o, "style") +
                              " (--art-style expects one of:" + style_names(o) + ")");
}

std::shared_ptr<const ArtShared> load_shared(const ArtOptions& o) {
  auto sh = std::make_shared<ArtShared>();
  sh->o = o;
  ArtWeights d = default_art_weights();
  sh->w = {o.alpha >= 0 ? o.alpha : d.alpha, o.beta >= 0 ? o.beta : d.beta, o.gamma >= 0 ? o.gamma : d.gamma};
  if (sh->o.init_noise < 0) sh->o.init_noise = kArtInitNoise;
  sh->style = load_style(o);  // first: a wrong --art-style fails before the VGG weights are read
  sh->vgg = load_vgg((std::filesystem::path(o.data_dir) / "weights" / "vgg19_conv1_1-conv3_4").string(), 5);
  std::map<std::string, Tensor> F = feature_values(sh->vgg, sh->style);
  {
    NoGradGuard values_only;
    Tape tape;
    for (const char* l : kStyleLayers) sh->style_grams.push_back(gram(tape.constant(F.at(l))).value());
  }
  sh->photo_names = {art_train_photos(), art_val_photos(), art_test_photos()};
  for (const auto& names : sh->photo_names) {
    sh->photos.emplace_back();
    for (const std::string& n : names) sh->photos.back().push_back(load_image_short_side(art_dir(o, "content") + "/" + n, 2 * o.size));
  }
  return sh;
}

class ArtTask : public Task {
 public:
  explicit ArtTask(const ArtOptions& o) {
    if (o.size < 4 || o.size % 4 || o.size > 1024)
      throw std::invalid_argument("[art] size must be a multiple of 4 in 4..1024, got " + std::to_string(o.size));
    sh_ = load_shared(o);
  }
  std::string name() const override { return "art"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "art: " << sh_->o.size << "x" << sh_->o.size << " image (" << 3 * sh_->o.size * sh_->o.size
      << " coordinates), style " << sh_->o.style << ", f = " << sh_->w.alpha << " content(relu2_2) + " << sh_->w.beta
      << " style(relu1_1,relu2_1,relu3_1) + " << sh_->w.gamma << " tv, theta_0 = " << (sh_->o.start_from_noise ? "0.5" : "content");
    if (sh_->o.init_noise > 0) s << " + N(0," << sh_->o.init_noise << "^2)";
    s << "; photos: " << sh_->photos[0].size() << " train, " << sh_->photos[1].size() << " val, "
      << sh_->photos[2].size() << " test";
    return s.str();
  }
  std::unique_ptr<Problem> sample(const ProblemId& id) const override {
    const int set = id.split == Split::train ? 0 : id.split == Split::val ? 1 : 2, S = sh_->o.size;  // photos[set]
    Rng rng(id.function_seed());
    const std::vector<Image>& photos = sh_->photos[set];
    size_t k = (size_t)(rng.uniform() * photos.size());
    const Image& p = photos[k];
    int y0 = (int)(rng.uniform() * (p.height - S + 1)), x0 = (int)(rng.uniform() * (p.width - S + 1));
    Image crop = crop_image(p, y0, x0, S);
    if (rng.uniform() < 0.5) crop = flip_horizontal(crop);
    return std::make_unique<ArtProblem>(sh_, std::move(crop), sh_->photo_names[set][k]);
  }

 private:
  std::shared_ptr<const ArtShared> sh_;
};

}  // namespace

ArtProblemImages art_problem_images(const Problem& p) {
  const auto* a = dynamic_cast<const ArtProblem*>(&p);
  if (!a) throw std::invalid_argument("[art_problem_images] not a Neural Art problem");
  return a->images();
}

std::unique_ptr<Task> make_art_task(const ArtOptions& o) { return std::make_unique<ArtTask>(o); }

}  // namespace l2l
