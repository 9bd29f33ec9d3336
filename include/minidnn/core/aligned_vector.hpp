#pragma once
/// \file
/// A std::vector whose storage is 64-byte aligned, so SIMD kernels can use aligned loads on rows
/// that start at a multiple of 16 floats, and buffers never straddle cache lines needlessly.
#include <cstddef>
#include <new>
#include <vector>

namespace minidnn {

template <typename T, std::size_t Alignment = 64>
struct AlignedAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };
  AlignedAllocator() noexcept = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) noexcept {}

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Alignment)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Alignment)); }

  template <typename U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U, Alignment>&) const noexcept { return false; }
};

/// Contiguous, 64-byte aligned storage used for every tensor and workspace.
template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace minidnn
