// fer train loses no finished work: after Ctrl-C or a kill, --resume reaches the same weights as
// an uninterrupted run (same seed, one thread); a diverging run stops with a message naming the
// epoch and batch and writes nothing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "minidnn/sequential.hpp"
#include "support/files.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;

namespace {

// Starts `fer ARGS...` in `cwd` on the embedded synthetic data, output to `log`.
pid_t start_fer(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::unsetenv("FER2013_CSV");
    std::vector<char*> argv{const_cast<char*>(FER_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(FER_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_fer(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) {
  return wait_exit_code(start_fer(args, cwd, log));
}

// Every weight of the two model files, compared bit for bit.
void check_same_weights(const fs::path& a, const fs::path& b) {
  auto ma = minidnn::Model<float>::load(a);
  auto mb = minidnn::Model<float>::load(b);
  const auto pa = ma.parameters(), pb = mb.parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    REQUIRE(pa[i]->size() == pb[i]->size());
    std::size_t differing = 0;
    for (std::size_t j = 0; j < pa[i]->size(); ++j) differing += pa[i]->value[j] != pb[i]->value[j];
    INFO("parameter " << i << " (" << pa[i]->name << ")");
    CHECK(differing == 0);
  }
}

// history.csv's rows without the last column (seconds, which differ between runs).
std::vector<std::string> history_without_seconds(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(',')));
  return rows;
}

// One training recipe, used for the reference run and the interrupted ones. Its learning rate
// changes every epoch (cosine), so a resumed run must also restore the schedule.
std::vector<std::string> recipe(const std::string& out) {
  return {"train", "--model", "small", "--epochs", "3", "--batch", "32", "--train-rows", "1200", "--val-rows", "64",
          "--threads", "1", "--seed", "7", "--augment", "--lr-schedule", "cosine", "--out", out};
}

// Waits until `path` exists (the first epoch's checkpoint), at most a few minutes.
bool wait_for_file(const fs::path& path, pid_t pid) {
  for (int i = 0; i < 3000; ++i) {
    if (fs::exists(path)) return true;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

TEST_CASE("fer train --resume after Ctrl-C or a kill ends with the weights of an uninterrupted run", "[fer][faults]") {
  const auto dir = minidnn::test::scratch_dir("fer_resume_equal");
  REQUIRE(run_fer(recipe("ref.mdnn"), dir, dir / "ref.log") == 0);

  SECTION("Ctrl-C in the middle of an epoch") {
    const pid_t pid = start_fer(recipe("int.mdnn"), dir, dir / "int.log");
    REQUIRE(wait_for_file(dir / "int.mdnn.ckpt", pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into epoch 2
    ::kill(pid, SIGINT);
    const int code = wait_exit_code(pid);
    INFO(minidnn::test::read_file(dir / "int.log"));
    REQUIRE((code == 130 || code == 0));  // 0 only if training had already finished
    if (code == 130) CHECK_THAT(minidnn::test::read_file(dir / "int.log"), Catch::Contains("interrupted; checkpoint saved"));
    REQUIRE(run_fer({"train", "--resume", "int.mdnn.ckpt", "--threads", "1", "--out", "int.mdnn"}, dir,
                    dir / "resume.log") == 0);
    check_same_weights(dir / "ref.mdnn", dir / "int.mdnn");
    // The interrupted epoch's loss and accuracy cover all its batches (the checkpoint carries the
    // partial sums), so history.csv matches the uninterrupted run's but for the seconds.
    CHECK(history_without_seconds(dir / "int.history.csv") == history_without_seconds(dir / "ref.history.csv"));
  }
  SECTION("killed (SIGKILL) after the first epoch") {
    const pid_t pid = start_fer(recipe("kill.mdnn"), dir, dir / "kill.log");
    REQUIRE(wait_for_file(dir / "kill.mdnn.ckpt", pid));
    ::kill(pid, SIGKILL);
    wait_exit_code(pid);
    // Whatever moment the kill hit, the checkpoint is a whole file.
    REQUIRE_NOTHROW(minidnn::Model<float>::load(dir / "kill.mdnn.ckpt"));
    REQUIRE(run_fer({"train", "--resume", "kill.mdnn.ckpt", "--threads", "1", "--out", "kill.mdnn"}, dir,
                    dir / "resume.log") == 0);
    check_same_weights(dir / "ref.mdnn", dir / "kill.mdnn");
  }
}

TEST_CASE("fer train stops on a non-finite loss, naming epoch and batch, and writes nothing", "[fer][faults]") {
  const auto dir = minidnn::test::scratch_dir("fer_diverged");
  REQUIRE(run_fer({"train", "--model", "small", "--epochs", "1", "--batch", "32", "--train-rows", "320", "--val-rows",
                   "32", "--threads", "1", "--out", "good.mdnn"},
                  dir, dir / "good.log") == 0);
  const std::string good_checkpoint = minidnn::test::read_file(dir / "good.mdnn.ckpt");

  // A checkpoint whose weights overflowed (what a too-high learning rate leaves behind).
  std::string metadata;
  auto model = minidnn::Model<float>::load(dir / "good.mdnn.ckpt", &metadata);
  for (auto* p : model.parameters()) std::fill(p->value.begin(), p->value.end(), std::numeric_limits<float>::max());
  model.save(dir / "overflowed.ckpt", /*with_optimizer=*/true, metadata);

  const int code = run_fer({"train", "--resume", "overflowed.ckpt", "--epochs", "2", "--train-rows", "320",
                            "--val-rows", "32", "--threads", "1", "--out", "next.mdnn"},
                           dir, dir / "next.log");
  const std::string log = minidnn::test::read_file(dir / "next.log");
  INFO(log);
  CHECK(code == 1);
  CHECK_THAT(log, Catch::Contains("epoch 2, batch 1") && Catch::Contains("training diverged") &&
                      Catch::Contains("last checkpoint: overflowed.ckpt (after epoch 1)"));
  CHECK_FALSE(fs::exists(dir / "next.mdnn"));
  CHECK_FALSE(fs::exists(dir / "next.mdnn.ckpt"));
  CHECK(minidnn::test::read_file(dir / "good.mdnn.ckpt") == good_checkpoint);
}
