// Messages' formatting on any bytes: it never crashes, and what it makes is JSON that reads back,
// of allowed nodes only, every link's target http(s) or mailto, within the depth and node limits.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/markdown.hpp"
#include "src/wire.hpp"

namespace {

using json = nlohmann::json;
namespace md = duplex::chat::markdown;

bool allowed_tag(const std::string& t) {
  for (const char* ok :
       {"p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"})
    if (t == ok) return true;
  return false;
}

// Checks every node under `nodes` at nesting `depth`; returns how many there are.
std::size_t check(const json& nodes, std::size_t depth, std::size_t max_depth) {
  FUZZ_CHECK(nodes.is_array());
  std::size_t count = 0;
  for (const auto& n : nodes) {
    ++count;
    if (n.is_string()) continue;
    FUZZ_CHECK(n.is_object());
    const std::string t = n.value("t", "");
    FUZZ_CHECK(allowed_tag(t));
    if (t == "a") FUZZ_CHECK(md::allowed_href(n.value("href", "")));
    if (t == "br") {
      FUZZ_CHECK(!n.contains("c"));
      continue;
    }
    FUZZ_CHECK(depth + 1 <= max_depth);
    count += check(n.at("c"), depth + 1, max_depth);
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A small limit too, so that the fuzzer reaches the flattening and the node limit often.
  for (const md::limits lim : {md::limits{}, md::limits{3, 40}}) {
    const auto tree = md::render(text, lim);
    if (!tree) continue;
    FUZZ_CHECK(check(*tree, 0, lim.max_depth) <= lim.max_nodes);
    // As the wire writes it (bytes that are not UTF-8 replaced), it parses back to a tree.
    const json back = json::parse(duplex::chat::to_wire(*tree), nullptr, false);
    FUZZ_CHECK(!back.is_discarded());
    check(back, 0, lim.max_depth);
  }
  return 0;
}
