// The accounts' HTTP endpoints on any request a peer can make, over a real SQLite file: one
// answer per request, a known status, a JSON body, and a cookie only with a signed-in answer.
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "src/account_api.hpp"

namespace {

using namespace duplex::chat;

// ASCII letters and digits; the key is lower case (the names module stands elsewhere).
std::optional<name_claim> names(std::string_view typed, std::string& problem) {
  if (typed.empty() || typed.size() > 32) return problem = "length", std::nullopt;
  name_claim c{std::string(typed), {}, {}};
  for (char ch : typed) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) return problem = "chars", std::nullopt;
    c.key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  c.skeleton = c.key;
  return c;
}

struct world {
  world()
      : path(std::filesystem::temp_directory_path() /
             ("duplex-fuzz-accounts-" + std::to_string(::getpid()) + ".db")) {
    remove();
    account_config c;
    c.db_path = path.string();
    c.cost = hash_cost::minimum();
    c.hash_threads = 1;
    // Limits that rarely refuse, so that what lies behind them is explored.
    c.signin.account = {1e9, std::chrono::milliseconds(1)};
    c.signin.address = {1e9, std::chrono::milliseconds(1)};
    service = std::make_unique<account_service>(c, [this](std::function<void()> fn) {
      std::lock_guard lock(mutex);
      posted.push_back(std::move(fn));
    });
    api = std::make_unique<account_api>(*service, names, api_options{});
  }
  ~world() {
    api.reset();
    service.reset();
    remove();
  }
  void remove() {
    for (const char* s : {"", "-wal", "-shm"})
      std::filesystem::remove(path.string() + s);
  }
  void run() {
    service->drain();
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lock(mutex);
      now.swap(posted);
    }
    for (auto& fn : now)
      fn();
  }
  std::filesystem::path path;
  std::mutex mutex;
  std::vector<std::function<void()>> posted;
  std::unique_ptr<account_service> service;
  std::unique_ptr<account_api> api;
  std::string cookie;  // the last session given out, so signed-in paths are reached too
};

std::string_view take_line(std::string_view& in) {
  const auto nl = in.find('\n');
  const auto line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  if (size == 0) return 0;
  static constexpr std::string_view methods[] = {"GET", "POST", "DELETE", "PUT"};
  const auto flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  api_request req;
  req.method = methods[flags & 3];
  req.path = take_line(in);
  const std::string cookie = (flags & 4) ? w.cookie : std::string(take_line(in));
  req.cookie = cookie;
  req.content_type = (flags & 8) ? "text/plain" : "application/json";
  req.user_agent = take_line(in);
  req.peer = (flags & 16) ? "127.0.0.1:1" : "[2001:db8::1]:2";
  if (flags & 32) req.peer = in.substr(0, 40);  // whatever a peer string may be
  req.body = in;
  int answers = 0;
  api_response got;
  w.api->handle(req, [&](api_response r) {
    ++answers;
    got = std::move(r);
  });
  w.run();
  FUZZ_CHECK(answers == 1);
  static constexpr int known[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 503};
  FUZZ_CHECK(std::find(std::begin(known), std::end(known), got.status) != std::end(known));
  FUZZ_CHECK(got.status == 204 || nlohmann::json::accept(got.body));
  const auto set = got.header("Set-Cookie");
  if (set && (got.status == 200 || got.status == 201)) {
    FUZZ_CHECK(set->find("HttpOnly; SameSite=Lax") != std::string_view::npos);
    w.cookie = std::string(set->substr(0, set->find(';')));
  }
  FUZZ_CHECK(!set || got.status < 300);
  return 0;
}
