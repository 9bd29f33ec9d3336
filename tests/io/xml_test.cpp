#include "minidnn/io/xml.hpp"

#include <catch2/catch.hpp>

using namespace minidnn;
using Catch::Matchers::Contains;

TEST_CASE("parse_xml builds the element tree with text, attributes and entities", "[io][xml]") {
  auto doc = io::parse_xml(
      "<?xml version=\"1.0\"?>\n<!-- comment -->\n<root a=\"1\" b='x &amp; y'>\n"
      "  <item>3 4 &lt;5&gt;</item><!-- inside -->\n  <empty/>\n  <item>&#65;&#x42;<![CDATA[<raw>]]></item>\n</root>\n",
      "t.xml");
  const io::XmlElement& root = doc.root;
  CHECK(root.name == "root");
  REQUIRE(root.attribute("b"));
  CHECK(*root.attribute("b") == "x & y");
  CHECK(root.attribute("c") == nullptr);
  REQUIRE(root.children.size() == 3);
  CHECK(root.children[0].text == "3 4 <5>");
  CHECK(root.children[1].name == "empty");
  CHECK(root.children[2].text == "AB<raw>");
  CHECK(root.children[2].line == 6);
  CHECK(root.child("empty") == &root.children[1]);
}

TEST_CASE("parse_xml rejects malformed documents naming source and line", "[io][xml]") {
  auto rejects = [](const std::string& text, const std::string& message) {
    INFO(text);
    CHECK_THROWS_WITH(io::parse_xml(text, "f.xml"), Contains("f.xml:") && Contains(message));
  };
  rejects("<a><b></a>", "does not match");
  rejects("<a>\n<b>text", "never closed");
  rejects("<a>&bogus;</a>", "unknown entity");
  rejects("<a x=1></a>", "must be quoted");
  rejects("<a x='1' x='2'></a>", "duplicate attribute");
  rejects("<a></a><b></b>", "after the root element");
  rejects("<!DOCTYPE a><a/>", "DOCTYPE");
  rejects("   ", "no root element");
  rejects("<a><!-- open", "unterminated comment");
  CHECK_THROWS_WITH(io::parse_xml("<a>\n\n</b>", "f.xml"), Contains("f.xml:3"));
  CHECK_THROWS_WITH(io::load_xml("/nonexistent/x.xml"), Contains("/nonexistent/x.xml"));
}
