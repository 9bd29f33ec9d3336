#pragma once
// Runs a piece of code in a forked child whose address space is capped (RLIMIT_AS), so a test
// can show that a reader stays within a memory bound on a hostile file: an allocation past the
// cap fails in the child (std::bad_alloc) instead of slowing the machine down.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <string>

#include "minidnn/core/error.hpp"

namespace minidnn::test {

/// AddressSanitizer reserves terabytes of address space, so RLIMIT_AS cannot be used under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressLimitWorks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressLimitWorks = false;
#else
constexpr bool kAddressLimitWorks = true;
#endif
#else
constexpr bool kAddressLimitWorks = true;
#endif

/// What happened in the child.
struct LimitedRun {
  enum Outcome { error, bad_alloc, other_exception, returned, crashed } outcome = crashed;
  std::string message;  // the minidnn::Error's (or other exception's) message
};

/// Runs `body` in a child process limited to `limit_bytes` more address space than it has at
/// the fork (so the test program's own code and libraries do not count). Where the limit cannot
/// be applied (under AddressSanitizer) the body runs unlimited in the child.
inline LimitedRun run_with_memory_limit(std::size_t limit_bytes, const std::function<void()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (kAddressLimitWorks) {
      // Current address space, from /proc/self/statm (first field: pages).
      std::size_t pages = 0;
      if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%zu", &pages) != 1) pages = 0;
        std::fclose(f);
      }
      const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + limit_bytes;
      rlimit limit{cap, cap};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    int code = 3;
    std::string message;
    try {
      body();
      code = 0;
    } catch (const Error& e) {
      code = 1, message = e.what();
    } catch (const std::bad_alloc& e) {
      code = 2, message = e.what();
    } catch (const std::exception& e) {
      code = 3, message = e.what();
    }
    std::size_t done = 0;
    while (done < message.size()) {
      const ssize_t n = ::write(fds[1], message.data() + done, message.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  LimitedRun run;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) run.message.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return run;
  switch (WEXITSTATUS(status)) {
    case 0: run.outcome = LimitedRun::returned; break;
    case 1: run.outcome = LimitedRun::error; break;
    case 2: run.outcome = LimitedRun::bad_alloc; break;
    default: run.outcome = LimitedRun::other_exception; break;
  }
  return run;
}

}  // namespace minidnn::test
