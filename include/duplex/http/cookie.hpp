// Reading the Cookie request header (RFC 6265 section 5.4): one cookie's value by name.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "duplex/http/request.hpp"

namespace duplex::http {

/// The value of the first cookie called `name`, over every Cookie header in order; the view
/// points into the headers. "name=value" pairs are separated by ';' and optional spaces.
std::optional<std::string_view> find_cookie(const std::vector<header>& headers,
                                            std::string_view name) noexcept;

}  // namespace duplex::http
