#pragma once
// Counts allocations in a test program: it replaces every form of operator new and delete, so
// include it in ONE file of a program only. While `counting` is set, each aligned allocation
// (Tensor's storage, AlignedVector) and each plain one of at least `min_plain_bytes` adds one to
// `allocations`.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace minidnn::test::allocation_counter {
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};
inline std::size_t min_plain_bytes = 0;
inline void count(std::size_t size, bool aligned) {
  if (counting.load(std::memory_order_relaxed) && (aligned || size >= min_plain_bytes))
    allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace minidnn::test::allocation_counter

[[gnu::noinline]] void* operator new(std::size_t size) {
  minidnn::test::allocation_counter::count(size, false);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t alignment) {
  minidnn::test::allocation_counter::count(size, true);
  const auto align = static_cast<std::size_t>(alignment);
  if (void* p = std::aligned_alloc(align, (size + align - 1) / align * align + (size ? 0 : align))) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
// Every other form goes through the two above, so that nothing is allocated by one allocator
// and freed by another (AddressSanitizer checks the pairs: its own nothrow new and our delete are not one).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try { return operator new(size); } catch (...) { return nullptr; }
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try { return operator new(size, alignment); } catch (...) { return nullptr; }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  return operator new(size, alignment, tag);
}
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
