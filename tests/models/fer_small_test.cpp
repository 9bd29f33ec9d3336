#include <catch2/catch.hpp>

#include <filesystem>

#include "minidnn/datasets/fer2013.hpp"
#include "minidnn/datasets/synthetic_faces.hpp"
#include "minidnn/models/fer_small.hpp"
#include "support/paths.hpp"

using namespace minidnn;

TEST_CASE("The small model learns real FER2013 faces: > 30% after 3 epochs on 8,000 rows", "[models][fer2013][learning]") {
  const auto csv = test::shared_dir() / "data" / "fer2013" / "fer2013.csv.gz";
  REQUIRE(std::filesystem::exists(csv));
  fer2013::LoadOptions options;
  options.private_test = false;
  options.max_rows_per_split = 8000;
  auto data = fer2013::load(csv.string(), options);
  REQUIRE(data.training.size() == 8000);
  auto& test = data.public_test;
  test.labels.resize(1000);
  test.images.resize(1000, test.images.shape());

  auto model = models::fer_small_model<float>(1);
  model.compile(Adam<float>());
  FitOptions<float> fit;
  fit.epochs = 3;
  fit.batch_size = 64;
  model.fit(data.training.images, data.training.labels, fit);
  const double accuracy = model.evaluate(test.images, test.labels).accuracy;
  // The majority class (Happy) is 24.6% of these 1,000 rows; PyTorch reaches 35.9% with this recipe.
  INFO("PublicTest[0:1000] accuracy " << accuracy);
  CHECK(accuracy > 0.30);
}

TEST_CASE("The small model learns the synthetic faces to >= 90% in three epochs", "[models][synthetic][learning]") {
  // After two epochs the accuracy still depends on the seed: 84-96% over seeds 1-9 for most,
  // and one seed (3) sat at 33-86% depending on rounding (Winograd or im2col convolutions).
  // After three, seeds 1, 3, 8 and 9 reach 92-99%.
  const auto train = synthetic_faces::generate(8400, 2013, 0);
  const auto test = synthetic_faces::generate(1400, 2013, 8400);
  auto model = models::fer_small_model<float>(1);
  model.compile(Adam<float>());
  FitOptions<float> fit;
  fit.epochs = 3;
  fit.batch_size = 64;
  model.fit(train.images, train.labels, fit);
  const double accuracy = model.evaluate(test.images, test.labels).accuracy;
  INFO("synthetic test accuracy " << accuracy);
  CHECK(accuracy >= 0.90);
}
