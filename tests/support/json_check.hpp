#pragma once
// A strict JSON syntax check (RFC 8259), enough to tell whether a tool printed valid JSON.
#include <cctype>
#include <string>

namespace minidnn::test {

namespace detail {
struct JsonParser {
  const std::string& s;
  std::size_t i = 0;
  void ws() { while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i; }
  bool lit(const char* w) {
    const std::string word(w);
    if (s.compare(i, word.size(), word) != 0) return false;
    i += word.size();
    return true;
  }
  bool string() {
    if (s[i] != '"') return false;
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') { ++i; continue; }
      if (s[i] == '"') { ++i; return true; }
      if (static_cast<unsigned char>(s[i]) < 0x20) return false;
    }
    return false;
  }
  bool number() {
    const std::size_t start = i;
    if (s[i] == '-') ++i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == 'e' ||
                            s[i] == 'E' || s[i] == '+' || s[i] == '-'))
      ++i;
    return i > start && std::isdigit(static_cast<unsigned char>(s[i - 1]));
  }
  bool value() {
    ws();
    if (i >= s.size()) return false;
    bool ok;
    if (s[i] == '{') ok = container('}', true);
    else if (s[i] == '[') ok = container(']', false);
    else if (s[i] == '"') ok = string();
    else if (lit("true") || lit("false") || lit("null")) ok = true;
    else ok = number();
    ws();
    return ok;
  }
  bool container(char close, bool object) {
    ++i;
    ws();
    if (i < s.size() && s[i] == close) { ++i; return true; }
    for (;;) {
      if (object) {
        ws();
        if (i >= s.size() || !string()) return false;
        ws();
        if (i >= s.size() || s[i++] != ':') return false;
      }
      if (!value()) return false;
      if (i >= s.size()) return false;
      if (s[i] == ',') { ++i; continue; }
      if (s[i] == close) { ++i; return true; }
      return false;
    }
  }
};
}  // namespace detail

inline bool is_valid_json(const std::string& text) {
  detail::JsonParser p{text};
  return p.value() && p.i == text.size();
}

}  // namespace minidnn::test
