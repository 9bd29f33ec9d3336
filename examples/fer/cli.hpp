#pragma once
// A small command-line parser for fer's subcommands: declared flags with help text, values
// checked and converted, unknown flags and missing values reported by name.
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <minidnn/core/error.hpp>

namespace fer {

/// Thrown for a bad command line: printed with a hint to use --help, exit code 2.
struct UsageError : minidnn::Error {
  using minidnn::Error::Error;
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::string description)
      : command_(std::move(command)), synopsis_(std::move(synopsis)), description_(std::move(description)) {}

  /// Declares `--name VALUE` with a default ("" means none) and help text.
  Args& option(const std::string& name, const std::string& value_name, const std::string& default_value,
               const std::string& help) {
    options_[name] = {value_name, default_value, help, false};
    order_.push_back(name);
    return *this;
  }
  /// Declares a `--name` switch.
  Args& flag(const std::string& name, const std::string& help) {
    options_[name] = {"", "", help, true};
    order_.push_back(name);
    return *this;
  }
  /// Allows positional arguments (e.g. image files), named in the help as `name`.
  Args& positionals(const std::string& name, bool required) {
    positional_name_ = name;
    positional_required_ = required;
    return *this;
  }

  /// Parses argv after the subcommand. Returns false if --help was asked for (help printed).
  bool parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        print_help();
        return false;
      }
      if (arg.rfind("--", 0) == 0) {
        std::string value;
        bool has_inline = false;
        if (const auto eq = arg.find('='); eq != std::string::npos) {
          value = arg.substr(eq + 1);
          arg = arg.substr(0, eq);
          has_inline = true;
        }
        const std::string name = arg.substr(2);
        auto it = options_.find(name);
        if (it == options_.end()) throw UsageError(command_ + ": unknown option '" + arg + "'");
        if (it->second.is_flag) {
          if (has_inline) throw UsageError(command_ + ": option '" + arg + "' takes no value");
          values_[name] = "1";
        } else {
          if (!has_inline) {
            if (i + 1 >= argc) throw UsageError(command_ + ": option '" + arg + "' needs a value (" + it->second.value_name + ")");
            value = argv[++i];
          }
          values_[name] = value;
        }
      } else {
        if (positional_name_.empty()) throw UsageError(command_ + ": unexpected argument '" + arg + "'");
        positional_.push_back(arg);
      }
    }
    if (positional_required_ && positional_.empty())
      throw UsageError(command_ + ": missing " + positional_name_);
    return true;
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  bool flag_set(const std::string& name) const { return has(name); }
  std::string get(const std::string& name) const {
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    return options_.at(name).default_value;
  }
  int get_int(const std::string& name, int min, int max) const {
    const std::string text = get(name);
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < min || v > max)
      throw UsageError(command_ + ": --" + name + " must be an integer in [" + std::to_string(min) + ", " +
                       std::to_string(max) + "], got '" + text + "'");
    return static_cast<int>(v);
  }
  double get_double(const std::string& name, double min, double max) const {
    const std::string text = get(name);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= min && v <= max))
      throw UsageError(command_ + ": --" + name + " must be a number in [" + std::to_string(min) + ", " +
                       std::to_string(max) + "], got '" + text + "'");
    return v;
  }
  /// A number > 0 and <= max (a learning rate): the message states the open lower bound.
  double get_positive_double(const std::string& name, double max) const {
    const std::string text = get(name);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v > 0 && v <= max)) {
      std::ostringstream range;
      range << "greater than 0 and at most " << max;
      throw UsageError(command_ + ": --" + name + " must be a number " + range.str() + ", got '" + text + "'");
    }
    return v;
  }
  const std::vector<std::string>& positional() const { return positional_; }

  void print_help() const {
    std::ostringstream out;
    out << "usage: " << synopsis_ << "\n\n" << description_ << "\n\noptions:\n";
    for (const auto& name : order_) {
      const auto& o = options_.at(name);
      std::string left = "  --" + name + (o.is_flag ? "" : " " + o.value_name);
      if (left.size() < 26) left.resize(26, ' ');
      else left += "\n" + std::string(26, ' ');
      out << left << o.help;
      if (!o.is_flag && !o.default_value.empty()) out << " (default " << o.default_value << ")";
      out << "\n";
    }
    out << "  --help                  show this help\n";
    std::fputs(out.str().c_str(), stdout);
  }

 private:
  struct Option {
    std::string value_name, default_value, help;
    bool is_flag;
  };
  std::string command_, synopsis_, description_;
  std::map<std::string, Option> options_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_;
  std::string positional_name_;
  bool positional_required_ = false;
  std::vector<std::string> positional_;
};

}  // namespace fer
