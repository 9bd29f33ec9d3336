#pragma once
/// \file
/// A small, strict XML reader: enough for OpenCV's FileStorage XML (cascade files) and similar
/// hand-written data files. It builds a tree of elements with their attributes and text; it
/// rejects anything malformed (unclosed or mismatched tags, bad entities, stray text after the
/// root, truncation) with a minidnn::Error naming the source and the line. Not supported, and
/// rejected: DOCTYPE declarations and processing instructions other than the leading `<?xml ?>`.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/io/read_file.hpp"

namespace minidnn::io {

/// One XML element: its tag name, attributes, the concatenated text directly inside it
/// (entities decoded, comments dropped) and its child elements in document order.
struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<XmlElement> children;
  int line = 0;  ///< 1-based line of the opening tag, for error messages.

  /// The first child with this tag name, or nullptr.
  const XmlElement* child(std::string_view tag) const {
    for (const XmlElement& c : children)
      if (c.name == tag) return &c;
    return nullptr;
  }
  /// The value of an attribute, or nullptr when absent.
  const std::string* attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
};

/// A parsed document: the root element and the name of the source (a path) for messages.
struct XmlDocument {
  XmlElement root;
  std::string source;
};

namespace detail {

class XmlParser {
 public:
  XmlParser(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  XmlDocument parse() {
    XmlDocument doc;
    doc.source = source_;
    skip_bom();
    skip_misc(/*allow_declaration=*/true);
    if (at_end()) error("no root element (empty or truncated file)");
    if (peek() != '<') error("text before the root element");
    doc.root = parse_element(0);
    skip_misc(/*allow_declaration=*/false);
    if (!at_end()) error("unexpected content after the root element </", doc.root.name, ">");
    return doc;
  }

 private:
  static constexpr int kMaxDepth = 256;  // guards the recursion against hostile nesting

  template <typename... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail(source_, ":", line_, ": XML error: ", parts...);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool starts_with(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }
  void advance(std::size_t n = 1) {
    for (std::size_t i = 0; i < n && pos_ < text_.size(); ++i, ++pos_)
      if (text_[pos_] == '\n') ++line_;
  }
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  static bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }
  void skip_spaces() {
    while (!at_end() && is_space(peek())) advance();
  }
  void skip_bom() {
    if (starts_with("\xEF\xBB\xBF")) pos_ += 3;
  }

  // Skips whitespace, comments and (only at the very start) the <?xml ... ?> declaration.
  void skip_misc(bool allow_declaration) {
    for (;;) {
      skip_spaces();
      if (starts_with("<!--")) {
        skip_comment();
      } else if (starts_with("<?")) {
        if (!allow_declaration || !starts_with("<?xml")) error("unsupported processing instruction");
        std::size_t end = text_.find("?>", pos_);
        if (end == std::string_view::npos) error("unterminated <?xml declaration (truncated file?)");
        advance(end + 2 - pos_);
        allow_declaration = false;
      } else if (starts_with("<!")) {
        error("DOCTYPE and other <! declarations are not supported");
      } else {
        return;
      }
    }
  }

  void skip_comment() {
    int start_line = line_;
    std::size_t end = text_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) {
      line_ = start_line;
      error("unterminated comment starting here (truncated file?)");
    }
    advance(end + 3 - pos_);
  }

  std::string parse_name(const char* what) {
    if (at_end() || !is_name_start(peek())) error("expected ", what);
    std::size_t start = pos_;
    while (!at_end() && is_name_char(peek())) advance();
    return std::string(text_.substr(start, pos_ - start));
  }

  // Decodes the entity at pos_ ('&' ... ';') and appends it.
  void parse_entity(std::string& out) {
    std::size_t end = text_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) error("malformed entity reference");
    std::string_view entity = text_.substr(pos_ + 1, end - pos_ - 1);
    if (entity == "lt") out += '<';
    else if (entity == "gt") out += '>';
    else if (entity == "amp") out += '&';
    else if (entity == "quot") out += '"';
    else if (entity == "apos") out += '\'';
    else if (entity.size() >= 2 && entity[0] == '#') {
      unsigned long code = 0;
      bool hex = entity[1] == 'x' || entity[1] == 'X';
      std::string_view digits = entity.substr(hex ? 2 : 1);
      if (digits.empty()) error("malformed character reference &", entity, ";");
      for (char c : digits) {
        int d = (c >= '0' && c <= '9') ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
        if (d < 0 || code > 0x10FFFF) error("malformed character reference &", entity, ";");
        code = code * (hex ? 16 : 10) + static_cast<unsigned long>(d);
      }
      if (code == 0 || code > 0x10FFFF) error("character reference out of range &", entity, ";");
      append_utf8(out, code);
    } else {
      error("unknown entity &", entity, ";");
    }
    advance(end + 1 - pos_);
  }

  static void append_utf8(std::string& out, unsigned long code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  XmlElement parse_element(int depth) {
    if (depth > kMaxDepth) error("elements nested deeper than ", kMaxDepth);
    XmlElement element;
    element.line = line_;
    advance();  // '<'
    element.name = parse_name("an element name after '<'");
    // Attributes.
    for (;;) {
      bool had_space = !at_end() && is_space(peek());
      skip_spaces();
      if (at_end()) error("unterminated start tag <", element.name, " (truncated file?)");
      if (starts_with("/>")) {
        advance(2);
        return element;
      }
      if (peek() == '>') {
        advance();
        break;
      }
      if (!had_space) error("expected whitespace, '>' or '/>' in start tag <", element.name, ">");
      std::string key = parse_name("an attribute name");
      skip_spaces();
      if (at_end() || peek() != '=') error("expected '=' after attribute ", key);
      advance();
      skip_spaces();
      if (at_end() || (peek() != '"' && peek() != '\'')) error("attribute ", key, " value must be quoted");
      char quote = peek();
      advance();
      std::string value;
      while (!at_end() && peek() != quote) {
        if (peek() == '<') error("'<' inside attribute ", key);
        if (peek() == '&') parse_entity(value);
        else {
          value += peek();
          advance();
        }
      }
      if (at_end()) error("unterminated value of attribute ", key, " (truncated file?)");
      advance();
      if (element.attribute(key)) error("duplicate attribute ", key, " in <", element.name, ">");
      element.attributes.emplace_back(std::move(key), std::move(value));
    }
    // Content.
    for (;;) {
      if (at_end()) {
        line_ = element.line;
        error("element <", element.name, "> opened here is never closed (truncated file?)");
      }
      char c = peek();
      if (c == '<') {
        if (starts_with("</")) {
          advance(2);
          std::string closing = parse_name("an element name after '</'");
          if (closing != element.name)
            error("closing tag </", closing, "> does not match <", element.name, "> opened on line ",
                  element.line);
          skip_spaces();
          if (at_end() || peek() != '>') error("expected '>' after </", closing);
          advance();
          return element;
        }
        if (starts_with("<!--")) {
          skip_comment();
        } else if (starts_with("<![CDATA[")) {
          std::size_t end = text_.find("]]>", pos_);
          if (end == std::string_view::npos) error("unterminated CDATA section (truncated file?)");
          element.text.append(text_.substr(pos_ + 9, end - pos_ - 9));
          advance(end + 3 - pos_);
        } else if (starts_with("<?") || starts_with("<!")) {
          error("unsupported markup inside <", element.name, ">");
        } else {
          element.children.push_back(parse_element(depth + 1));
        }
      } else if (c == '&') {
        parse_entity(element.text);
      } else {
        element.text += c;
        advance();
      }
    }
  }

  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace detail

/// Parses XML text; `source` names it in error messages (a path or "<string>").
inline XmlDocument parse_xml(std::string_view text, std::string source = "<string>") {
  return detail::XmlParser(text, std::move(source)).parse();
}

/// Largest XML file load_xml reads: OpenCV's biggest Haar cascade is about 2.6 MB.
constexpr std::size_t kMaxXmlBytes = std::size_t(64) << 20;

/// Reads and parses an XML file; an unreadable or oversized (over `max_bytes`) file is an Error
/// naming the path and the reason.
inline XmlDocument load_xml(const std::string& path, std::size_t max_bytes = kMaxXmlBytes) {
  return parse_xml(read_file(path, max_bytes, "XML file"), path);
}

}  // namespace minidnn::io
