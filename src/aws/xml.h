// A minimal XML reader for AWS Query-protocol responses (ELBv2): elements,
// text and the five predefined entities. Attributes are skipped, no DTDs.
// Untrusted input gets an Error (code "malformed_xml"), never a crash.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pg::aws {

struct XmlNode {
  std::string name;  // local name (namespace prefix dropped)
  std::string text;  // concatenated character data of this element
  std::vector<XmlNode> children;

  // First child named `name`; nullptr when none.
  const XmlNode* Child(std::string_view name) const;
  std::vector<const XmlNode*> Children(std::string_view name) const;
  // Text of the element at a '/'-separated path below this one; "" if absent.
  std::string Text(std::string_view path) const;
  // The element at a '/'-separated path; nullptr if absent.
  const XmlNode* Find(std::string_view path) const;
};

// Parses a document and returns its root element. Nesting depth is limited.
Result<XmlNode> ParseXml(std::string_view text);

// Escapes &, <, >, " and ' for element text.
std::string XmlEscape(std::string_view s);

}  // namespace pg::aws
