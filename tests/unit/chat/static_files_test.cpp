#include "src/static_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace duplex::chat {
namespace {

namespace fs = std::filesystem;

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("duplex-static-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "sub");
    write(base_ / "root" / "index.html", "<h1>home</h1>");
    write(base_ / "root" / "sub" / "a.css", "body{}");
    write(base_ / "root" / ".env", "SECRET=1");
    write(base_ / "secret.txt", "outside the root");
    fs::create_symlink(base_ / "secret.txt", base_ / "root" / "link.txt");
    fs::create_symlink(base_ / "root" / "sub" / "a.css", base_ / "root" / "inside.css");
    files_ = std::make_unique<static_files>((base_ / "root").string());
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

  http_response get(std::string target, std::vector<http::header> extra = {},
                    std::string method = "GET") {
    target_ = std::move(target);
    method_ = std::move(method);
    http::request req;
    req.method = method_;
    req.target = target_;
    req.headers = std::move(extra);
    http_response res;
    files_->serve(req, res);
    return res;
  }

  fs::path base_;
  std::unique_ptr<static_files> files_;
  std::string target_, method_;
};

TEST_F(StaticFiles, ServesFilesWithTheirTypes) {
  auto home = get("/");
  EXPECT_EQ(home.status(), 200);
  EXPECT_EQ(home.body(), "<h1>home</h1>");
  EXPECT_NE(home.serialize(true, false).find("Content-Type: text/html; charset=utf-8"),
            std::string::npos);
  EXPECT_NE(home.serialize(true, false).find("Content-Security-Policy"), std::string::npos);
  auto css = get("/sub/a.css?v=2");
  EXPECT_EQ(css.status(), 200);
  EXPECT_NE(css.serialize(true, false).find("text/css"), std::string::npos);
  EXPECT_EQ(get("/inside.css").status(), 200);  // a symlink that stays inside is fine
}

TEST_F(StaticFiles, NoWayOutOfTheRoot) {
  for (const char* evil :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt",
        "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt",
        "/%5c..%5csecret.txt", "/.env", "/%2eenv", "/sub/.%2e/.%2e/secret.txt",
        "/index.html%00.css", "/%zz", "/%2", "/%"}) {
    const auto res = get(evil);
    EXPECT_TRUE(res.status() == 400 || res.status() == 404) << evil << " -> " << res.status();
    EXPECT_EQ(res.body().find("outside the root"), std::string::npos) << evil;
    EXPECT_EQ(res.body().find("SECRET"), std::string::npos) << evil;
  }
  EXPECT_EQ(get("/link.txt").status(), 404);               // symlink pointing outside
  EXPECT_EQ(get("/%252e%252e/secret.txt").status(), 404);  // decoded once only
}

TEST_F(StaticFiles, MissingDirectoriesAndMethods) {
  EXPECT_EQ(get("/missing.js").status(), 404);
  EXPECT_EQ(get("/sub").status(), 404);  // a directory, and no redirect
  auto post = get("/", {}, "POST");
  EXPECT_EQ(post.status(), 405);
  EXPECT_NE(post.serialize(false, false).find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_EQ(get("/" + std::string(2000, 'a')).status(), 414);
  EXPECT_EQ(get("/", {}, "HEAD").status(), 200);
}

TEST_F(StaticFiles, ConditionalRequestsGet304) {
  const auto first = get("/sub/a.css");
  const std::string head = first.serialize(true, false);
  const auto at = head.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  const std::string etag = head.substr(at + 6, head.find("\r\n", at) - at - 6);
  EXPECT_EQ(get("/sub/a.css", {{"If-None-Match", etag}}).status(), 304);
  EXPECT_EQ(get("/sub/a.css", {{"If-None-Match", "\"other\""}}).status(), 200);
  const auto lm = head.find("Last-Modified: ");
  const std::string date = head.substr(lm + 15, head.find("\r\n", lm) - lm - 15);
  EXPECT_EQ(get("/sub/a.css", {{"If-Modified-Since", date}}).status(), 304);
  EXPECT_EQ(get("/sub/a.css", {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status(),
            200);
  EXPECT_EQ(get("/sub/a.css", {{"If-None-Match", etag}}).serialize(true, false).find("body{}"),
            std::string::npos);
}

TEST(PercentDecode, StrictAndSingle) {
  std::string out;
  EXPECT_TRUE(percent_decode("/a%20b%2F", out));
  EXPECT_EQ(out, "/a b/");
  EXPECT_FALSE(percent_decode("%g0", out));
  EXPECT_FALSE(percent_decode("%0", out));
  EXPECT_TRUE(percent_decode("%2541", out));
  EXPECT_EQ(out, "%41");
}

}  // namespace
}  // namespace duplex::chat
