#include "aws/xml.h"

namespace pg::aws {
namespace {

constexpr int kMaxDepth = 64;

Error Bad(const std::string& why) { return Error::Make("malformed_xml", "malformed XML response: " + why, 502); }

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<XmlNode> Document() {
    SkipMisc();
    if (!Peek("<")) return Bad("no root element");
    XmlNode root;
    PG_RETURN_IF_ERROR(Element(&root, 0));
    SkipMisc();
    if (i_ != s_.size()) return Bad("content after the root element");
    return root;
  }

 private:
  bool Peek(std::string_view p) const { return s_.substr(i_, p.size()) == p; }
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  // Skips whitespace, <?...?> and <!--...--> between elements.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      if (Peek("<?")) {
        size_t e = s_.find("?>", i_);
        i_ = e == std::string_view::npos ? s_.size() : e + 2;
      } else if (Peek("<!--")) {
        size_t e = s_.find("-->", i_);
        i_ = e == std::string_view::npos ? s_.size() : e + 3;
      } else {
        return;
      }
    }
  }
  Result<std::string> Name() {
    size_t start = i_;
    while (i_ < s_.size() && std::string_view(" \t\r\n/>=").find(s_[i_]) == std::string_view::npos) ++i_;
    if (i_ == start) return Bad("empty element name");
    std::string n(s_.substr(start, i_ - start));
    size_t colon = n.find(':');
    return colon == std::string::npos ? n : n.substr(colon + 1);
  }
  Result<void> Text(std::string* out, std::string_view raw) {
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '&') {
        out->push_back(raw[k]);
        continue;
      }
      size_t semi = raw.find(';', k);
      if (semi == std::string_view::npos) return Bad("unterminated entity");
      std::string_view ent = raw.substr(k + 1, semi - k - 1);
      if (ent == "amp") out->push_back('&');
      else if (ent == "lt") out->push_back('<');
      else if (ent == "gt") out->push_back('>');
      else if (ent == "quot") out->push_back('"');
      else if (ent == "apos") out->push_back('\'');
      else if (ent.size() > 1 && ent[0] == '#') {
        unsigned long cp = 0;
        try {
          cp = ent[1] == 'x' ? std::stoul(std::string(ent.substr(2)), nullptr, 16) : std::stoul(std::string(ent.substr(1)));
        } catch (...) {
          return Bad("bad character reference");
        }
        if (cp < 0x80) {
          out->push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
          out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x110000) {
          out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          return Bad("bad character reference");
        }
      } else {
        return Bad("unknown entity");
      }
      k = semi;
    }
    return Ok();
  }
  Result<void> Element(XmlNode* node, int depth) {
    if (depth > kMaxDepth) return Bad("nested too deeply");
    ++i_;  // '<'
    PG_ASSIGN_OR_RETURN(node->name, Name());
    // Attributes: skipped, honouring quotes.
    for (;;) {
      if (i_ >= s_.size()) return Bad("unterminated start tag");
      char c = s_[i_];
      if (c == '"' || c == '\'') {
        size_t e = s_.find(c, i_ + 1);
        if (e == std::string_view::npos) return Bad("unterminated attribute");
        i_ = e + 1;
      } else if (Peek("/>")) {
        i_ += 2;
        return Ok();
      } else if (c == '>') {
        ++i_;
        break;
      } else {
        ++i_;
      }
    }
    for (;;) {
      size_t lt = s_.find('<', i_);
      if (lt == std::string_view::npos) return Bad("unterminated element " + node->name);
      PG_RETURN_IF_ERROR(Text(&node->text, s_.substr(i_, lt - i_)));
      i_ = lt;
      if (Peek("</")) {
        i_ += 2;
        PG_ASSIGN_OR_RETURN(std::string end, Name());
        if (end != node->name) return Bad("mismatched end tag " + end);
        SkipSpace();
        if (!Peek(">")) return Bad("bad end tag");
        ++i_;
        return Ok();
      }
      if (Peek("<!--")) {
        size_t e = s_.find("-->", i_);
        if (e == std::string_view::npos) return Bad("unterminated comment");
        i_ = e + 3;
        continue;
      }
      if (Peek("<![CDATA[")) {
        size_t e = s_.find("]]>", i_);
        if (e == std::string_view::npos) return Bad("unterminated CDATA");
        node->text.append(s_.substr(i_ + 9, e - i_ - 9));
        i_ = e + 3;
        continue;
      }
      if (Peek("<?") || Peek("<!")) return Bad("unexpected markup");
      node->children.emplace_back();
      PG_RETURN_IF_ERROR(Element(&node->children.back(), depth + 1));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

const XmlNode* XmlNode::Child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::Children(std::string_view n) const {
  std::vector<const XmlNode*> out;
  for (const auto& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

const XmlNode* XmlNode::Find(std::string_view path) const {
  const XmlNode* cur = this;
  while (cur && !path.empty()) {
    size_t slash = path.find('/');
    cur = cur->Child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return cur;
}

std::string XmlNode::Text(std::string_view path) const {
  const XmlNode* n = Find(path);
  return n ? n->text : "";
}

Result<XmlNode> ParseXml(std::string_view text) { return Parser(text).Document(); }

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace pg::aws
