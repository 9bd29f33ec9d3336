#pragma once
/// \file
/// shard_of: the contiguous part of `count` items (a global batch, a validation set) that one of
/// `ranks` ranks takes; the first count % ranks ranks take one more, so the parts differ by at
/// most one and cover the items in order. No MPI here.
#include "minidnn/core/error.hpp"

namespace minidnn::distributed {

struct Shard {
  int begin = 0, count = 0;
};

inline Shard shard_of(int count, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks || count < 0)
    fail("shard_of: rank ", rank, " of ", ranks, " ranks, ", count, " items");
  const int base = count / ranks, extra = count % ranks;
  return {rank * base + (rank < extra ? rank : extra), base + (rank < extra ? 1 : 0)};
}

}  // namespace minidnn::distributed
