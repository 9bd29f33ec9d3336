#pragma once
/// \file
/// The Keras-style table that Sequential::summary and Model::summary print: a title, one row per
/// layer, the parameter totals. Every column but the last is as wide as its widest entry plus two,
/// so the columns stay aligned for any number of layers and any type name.
#include <algorithm>
#include <cstddef>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "minidnn/core/shape.hpp"

namespace minidnn::summary {

/// "44x44x64" for an image (H x W x C, as Keras prints it), the size otherwise.
inline std::string format_shape(const Shape& s) {
  if (s.rank() == 3) return std::to_string(s[1]) + "x" + std::to_string(s[2]) + "x" + std::to_string(s[0]);
  return std::to_string(s.size());
}

/// 1485831 -> "1,485,831".
inline std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// `rows[0]` is the header; all rows have its number of columns.
inline std::string table(const std::string& title, const std::vector<std::vector<std::string>>& rows,
                         std::size_t trainable, std::size_t non_trainable) {
  const std::size_t columns = rows.front().size();
  std::vector<std::size_t> width(columns, 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], row[c].size());
  std::size_t total_width = 0;
  for (std::size_t c = 0; c < columns; ++c) total_width += width[c] + 2;
  std::ostringstream out;
  out << title << "\n" << std::string(total_width, '_') << "\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c + 1 < columns; ++c) out << std::left << std::setw(int(width[c] + 2)) << rows[r][c];
    out << rows[r][columns - 1] << "\n";
    if (r == 0) out << std::string(total_width, '=') << "\n";
  }
  out << std::string(total_width, '=') << "\nTotal params: " << with_commas(trainable + non_trainable)
      << "\nTrainable params: " << with_commas(trainable) << "\nNon-trainable params: " << with_commas(non_trainable)
      << "\n";
  return out.str();
}

}  // namespace minidnn::summary
