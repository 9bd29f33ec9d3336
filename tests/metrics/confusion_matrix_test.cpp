#include <catch2/catch.hpp>

#include "minidnn/metrics/confusion_matrix.hpp"

using namespace minidnn;

namespace {
// rows: true class, columns: predicted
//        0  1  2
//   0 [  5  1  0 ]   support 6
//   1 [  2  3  1 ]   support 6
//   2 [  0  0  0 ]   support 0 (a class absent from the test set)
// predicted totals: 7, 4, 1
ConfusionMatrix small_matrix() {
  ConfusionMatrix m(3);
  const long counts[3][3] = {{5, 1, 0}, {2, 3, 1}, {0, 0, 0}};
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p)
      if (counts[t][p]) m.add(t, p, counts[t][p]);
  return m;
}
}  // namespace

TEST_CASE("ConfusionMatrix: per-class precision, recall, F1 by hand", "[metrics]") {
  const ConfusionMatrix m = small_matrix();
  CHECK(m.total() == 12);
  CHECK(m.accuracy() == Approx(8.0 / 12));
  const ClassScores c0 = m.scores(0), c1 = m.scores(1), c2 = m.scores(2);
  CHECK(c0.precision == Approx(5.0 / 7));
  CHECK(c0.recall == Approx(5.0 / 6));
  CHECK(c0.f1 == Approx(2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6)));  // = 10/13
  CHECK(c0.f1 == Approx(10.0 / 13));
  CHECK(c1.precision == Approx(3.0 / 4));
  CHECK(c1.recall == Approx(3.0 / 6));
  CHECK(c1.f1 == Approx(0.6));  // 2 * 0.75 * 0.5 / 1.25
  // Class 2: predicted once (wrongly), never present: precision 0, recall 0 (undefined), F1 0.
  CHECK(c2.precision == 0.0);
  CHECK(c2.recall == 0.0);
  CHECK(c2.f1 == 0.0);
  CHECK(c0.support == 6);
  CHECK(c2.support == 0);
  const std::vector<double> r = m.recalls();
  REQUIRE(r.size() == 3);
  CHECK(r[0] == Approx(5.0 / 6));
  CHECK(r[1] == Approx(0.5));
}

TEST_CASE("ConfusionMatrix: macro and weighted averages by hand", "[metrics]") {
  const ConfusionMatrix m = small_matrix();
  CHECK(m.macro_f1() == Approx((10.0 / 13 + 0.6 + 0.0) / 3));
  const ClassScores macro = m.macro_average();
  CHECK(macro.recall == Approx((5.0 / 6 + 0.5) / 3));
  CHECK(macro.precision == Approx((5.0 / 7 + 0.75) / 3));
  const ClassScores weighted = m.weighted_average();
  CHECK(weighted.f1 == Approx((6 * 10.0 / 13 + 6 * 0.6) / 12));
  CHECK(weighted.recall == Approx(8.0 / 12));  // support-weighted recall is accuracy
}

TEST_CASE("ConfusionMatrix: from scores, the argmax of each row against its label", "[metrics]") {
  Tensor<float> scores(4, Shape{3});
  const float rows[4][3] = {{0.7f, 0.2f, 0.1f}, {0.1f, 0.8f, 0.1f}, {0.3f, 0.3f, 0.4f}, {0.5f, 0.4f, 0.1f}};
  for (int n = 0; n < 4; ++n)
    for (int k = 0; k < 3; ++k) scores.sample(n)[k] = rows[n][k];
  const ConfusionMatrix m(scores, {0, 1, 1, 2});
  CHECK(m.count(0, 0) == 1);
  CHECK(m.count(1, 1) == 1);
  CHECK(m.count(1, 2) == 1);
  CHECK(m.count(2, 0) == 1);
  CHECK(m.total() == 4);
  CHECK_THROWS_WITH(ConfusionMatrix(scores, {0, 1}), Catch::Contains("2 labels for 4 samples"));
  ConfusionMatrix bad(3);
  CHECK_THROWS_WITH(bad.add(3, 0), Catch::Contains("outside"));
}
