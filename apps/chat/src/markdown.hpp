// A message's formatting: its text parsed as Markdown (md4c, raw HTML off) into a small JSON tree
// of allowed nodes only, that pages build with createElement and textContent
// (docs/chat-protocol.md, "Formatting").
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace duplex::chat::markdown {

struct limits {
  // Nodes nested deeper than this (quotes, lists, emphasis...) are not made: their text joins
  // the deepest node allowed, so a page's recursion and the JSON's nesting stay bounded.
  std::size_t max_depth = 16;
  // Element nodes and text strings in one tree; past it the message is shown as plain text.
  std::size_t max_nodes = 512;
};

// The tree of `text`: a JSON array of block nodes (shape in docs/chat-protocol.md). Empty when the
// text needs no formatting (one paragraph whose text and line breaks are exactly `text`), when
// the tree would exceed `lim.max_nodes`, or when md4c fails: a page then shows `text` as it is.
// Never throws.
std::optional<nlohmann::json> render(std::string_view text, const limits& lim = {});

// Whether a link target may become a link: it begins with http:, https: or mailto: (any case),
// and holds no control character or space.
bool allowed_href(std::string_view href) noexcept;

}  // namespace duplex::chat::markdown
