// The limits an operator sets (docs/limits.md, "duplex-chat"): one flag each, and the same names
// as keys of the TOML file that --config reads (flags given on the command line win).
#pragma once

#include <CLI/CLI.hpp>

#include "hub.hpp"
#include "signin_limiter.hpp"

namespace duplex::chat {

struct chat_limits {
  hub_limits hub;
  signin_limits signin;  // for the account service (account_config::signin)
};

// Adds the limit flags and --config to `app`; parsing fills `limits`, whose values are the
// defaults shown by --help.
void add_limit_flags(CLI::App& app, chat_limits& limits);

}  // namespace duplex::chat
