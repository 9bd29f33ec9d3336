#pragma once
// Reading the PyTorch fixtures (tests/fixtures/torch_fixtures.hpp, written by
// tests/fixtures/make_torch_fixtures.py) into tensors and parameters.
#include <algorithm>
#include <cstddef>

#include <catch2/catch.hpp>

#include "fixtures/torch_fixtures.hpp"
#include "minidnn/core/parameter.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn::test {

template <std::size_t N>
Tensor<double> fixture_tensor(const double (&values)[N], int batch, const Shape& shape) {
  Tensor<double> t(batch, shape);
  REQUIRE(t.size() == N);
  std::copy(values, values + N, t.data());
  return t;
}

template <std::size_t N>
void load_fixture(Parameter<double>& p, const double (&values)[N]) {
  REQUIRE(p.size() == N);
  std::copy(values, values + N, p.value.data());
}

/// Largest |got[i] - want[i]| over N values.
template <std::size_t N>
double max_difference(const Tensor<double>& got, const double (&want)[N]) {
  REQUIRE(got.size() == N);
  double worst = 0.0;
  for (std::size_t i = 0; i < N; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  return worst;
}
template <std::size_t N>
double max_difference(const AlignedVector<double>& got, const double (&want)[N]) {
  REQUIRE(got.size() == N);
  double worst = 0.0;
  for (std::size_t i = 0; i < N; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  return worst;
}

}  // namespace minidnn::test
