// The JSON answers of the accounts API: users, sessions, errors, and the HTTP status and
// headers each outcome of account_service maps to.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "account_api.hpp"

namespace duplex::chat::replies {

nlohmann::json user_json(const user& u);
nlohmann::json session_json(const session_info& s, std::int64_t current_id);

api_response json_reply(int status, const nlohmann::json& body);
api_response error(int status, std::string_view code, std::string_view message);
// The answer for a status other than ok (rate_limited and busy carry Retry-After).
api_response failure(const auth_result& r);
// A signed-in answer: the user, and the cookie that carries the new session.
api_response signed_in_reply(int status, const auth_result& r, const cookie_options& cookie);

}  // namespace duplex::chat::replies
