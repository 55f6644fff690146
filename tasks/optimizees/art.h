// art.h: the pieces of the Neural Art optimizee (tasks/optimizees/art.cpp) that tests, benchmarks and the
// image writer use: the Gram matrix and TV terms, the fixed photo lists, the default weights,
// and the images of a problem.
// Is not: the Task itself (make_art_task in tasks/optimizees/optimizees.h).
#pragma once
#include <string>
#include <vector>

#include "tasks/data/image.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l {

// features (1,C,H,W) -> (C,C):  G = F F^T / (C H W),  F = features as (C, H W).
// Dividing by C H W (not H W alone) keeps the style term's scale from 64x64 to 128x128.
Var gram(Var features);

// x (N,C,H,W) -> (1):  mean_{n,c,y<H-1,x} (x[y+1,x] - x[y,x])^2 + mean_{n,c,y,x<W-1} (x[y,x+1] - x[y,x])^2.
Var tv_loss(Var x);

// The documented defaults (tasks/optimizees/art.cpp explains how they were chosen).
struct ArtWeights {
  double alpha, beta, gamma;  // content, style, total variation
};
ArtWeights default_art_weights();
constexpr double kArtInitNoise = 0;  // theta_0 = the content crop itself (std of the noise added)

// Photos of art/content/ (file names): three disjoint sets, fixed here. A problem's crop comes
// from the set of its split (ProblemId::split).
const std::vector<std::string>& art_train_photos();
const std::vector<std::string>& art_val_photos();
const std::vector<std::string>& art_test_photos();

// A problem of make_art_task: its content crop, the task's style image (both size x size), and
// the name of the photo the crop comes from. Throws std::invalid_argument for other problems.
struct ArtProblemImages {
  Image content, style;
  std::string photo;
};
ArtProblemImages art_problem_images(const Problem& p);

// theta (3 size^2, CHW) as an image.
Image theta_image(const Tensor& theta, int size);

}  // namespace l2l
