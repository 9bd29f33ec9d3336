#include "minidnn/viz/chart_axes.hpp"

#include <catch2/catch.hpp>

using namespace minidnn::viz;

TEST_CASE("nice_ticks picks round steps covering the range") {
  const Ticks a = nice_ticks(0, 7215, 5);
  CHECK(a.step == 2000);
  CHECK(a.values == std::vector<double>{0, 2000, 4000, 6000});
  CHECK(a.format == "%.0f");
  const Ticks b = nice_ticks(0, 1, 5);
  CHECK(b.step == Approx(0.2));
  CHECK(b.values.size() == 6);
  CHECK(b.format == "%.1f");
  const Ticks c = nice_ticks(0.43, 2.37, 5);
  CHECK(c.step == Approx(0.5));
  CHECK(c.values.front() == Approx(0.5));
  CHECK(c.values.back() == Approx(2.0));
  const Ticks d = nice_ticks(0, 0.25, 4);  // step 0.1 or 0.05?  0.25/4 = 0.0625 -> 0.1
  CHECK(d.step == Approx(0.1));
  CHECK(d.format == "%.1f");
  const Ticks e = nice_ticks(0, 10, 4);  // 2.5 -> needs one decimal
  CHECK(e.step == Approx(2.5));
  CHECK(e.format == "%.1f");
}

TEST_CASE("PlotArea maps the data range onto its pixels, y upwards") {
  PlotArea area;
  area.left = 100, area.right = 300, area.top = 50, area.bottom = 250;
  area.x_min = 1, area.x_max = 11, area.y_min = 0, area.y_max = 2;
  CHECK(area.px(1) == 100);
  CHECK(area.px(11) == 300);
  CHECK(area.px(6) == 200);
  CHECK(area.py(0) == 250);
  CHECK(area.py(2) == 50);
  CHECK(area.py(0.5) == 200);
}
