#include "duplex/http/token_list.hpp"

#include "duplex/http/request.hpp"

namespace duplex::http {

bool has_token(std::string_view list, std::string_view token) noexcept {
  bool found = false;
  for_each_token(list, [&](std::string_view item) {
    found = iequals(item, token);
    return !found;
  });
  return found;
}

}  // namespace duplex::http
