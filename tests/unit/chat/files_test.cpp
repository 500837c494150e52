// Files: the image probe on real and broken headers, the names uploads are shown under, the
// uploads table, and who may upload and fetch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "apps/chat/src/conversations.hpp"
#include "apps/chat/src/file_names.hpp"
#include "apps/chat/src/file_rules.hpp"
#include "apps/chat/src/image_probe.hpp"
#include "apps/chat/src/uploads.hpp"
#include "apps/chat/src/wire.hpp"

namespace duplex::chat {
namespace {

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string png(std::uint32_t w, std::uint32_t h) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(w) + be32(h) +
         std::string("\x08\x02\0\0\0", 5);
}

std::string jpeg(std::uint16_t w, std::uint16_t h) {
  std::string s("\xff\xd8", 2);
  s += std::string("\xff\xe0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0", 18);  // APP0, skipped
  s += std::string("\xff\xc0\x00\x11\x08", 5) + char(h >> 8) + char(h) + char(w >> 8) + char(w);
  s += std::string(9, '\x01');
  return s;
}

TEST(ImageProbe, ReadsTheDimensionsOfEachFormat) {
  auto p = probe_image(png(640, 480));
  EXPECT_EQ(p.mime, "image/png");
  EXPECT_EQ(p.width, 640u);
  EXPECT_EQ(p.height, 480u);
  p = probe_image(jpeg(1024, 768));
  EXPECT_EQ(p.mime, "image/jpeg");
  EXPECT_EQ(p.width, 1024u);
  EXPECT_EQ(p.height, 768u);
  p = probe_image(std::string("GIF89a\x20\x01\x10\x00", 10));
  EXPECT_EQ(p.mime, "image/gif");
  EXPECT_EQ(p.width, 288u);
  EXPECT_EQ(p.height, 16u);
  // VP8X: canvas 400 x 300, stored minus one on 24 bits.
  std::string webp = std::string("RIFF\0\0\0\0WEBPVP8X", 16) + std::string(4, '\0') +
                     std::string(4, '\0') + std::string("\x8f\x01\x00\x2b\x01\x00", 6);
  p = probe_image(webp);
  EXPECT_EQ(p.mime, "image/webp");
  EXPECT_EQ(p.width, 400u);
  EXPECT_EQ(p.height, 300u);
  // VP8L: 14 bits each, minus one: 100 x 50 -> (99, 49).
  const std::uint32_t bits = 99u | 49u << 14;
  std::string lossless = std::string("RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f", 21) + char(bits) +
                         char(bits >> 8) + char(bits >> 16) + char(bits >> 24);
  p = probe_image(lossless);
  EXPECT_EQ(p.width, 100u);
  EXPECT_EQ(p.height, 50u);
}

TEST(ImageProbe, RefusesTruncatedBogusAndScriptableInput) {
  const std::string full = png(10, 10);
  for (std::size_t n = 0; n < 24; ++n)
    EXPECT_FALSE(probe_image(full.substr(0, n))) << n;
  EXPECT_FALSE(probe_image(png(0, 10)));
  EXPECT_FALSE(probe_image(png(70'000, 10)));
  const std::string j = jpeg(5, 5);
  // SOI 2, APP0 18, then the frame header: its width ends at byte 29, all the probe needs.
  for (std::size_t n = 0; n < 29; ++n)
    EXPECT_FALSE(probe_image(j.substr(0, n))) << n;
  EXPECT_TRUE(probe_image(j.substr(0, 29)));
  // A segment length that points past the data, and one below its own size.
  EXPECT_FALSE(probe_image(std::string("\xff\xd8\xff\xe1\xff\xff", 6) + std::string(100, 'a')));
  EXPECT_FALSE(probe_image(std::string("\xff\xd8\xff\xe1\x00\x01\xff\xc0", 8)));
  // The scan before any frame header.
  EXPECT_FALSE(probe_image(std::string("\xff\xd8\xff\xda\x00\x08", 6) + std::string(10, 'a')));
  EXPECT_FALSE(probe_image("<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"));
  EXPECT_FALSE(probe_image(std::string("RIFF\0\0\0\0WEBPVP8 ", 16) + std::string(20, '\0')));
  EXPECT_FALSE(probe_image("GIF89a"));
}

TEST(FileNames, StripWhatCouldMisleadOrEscape) {
  EXPECT_EQ(sanitize_file_name("report.pdf"), "report.pdf");
  EXPECT_EQ(sanitize_file_name("caf%C3%A9%20menu.txt"), "café menu.txt");
  EXPECT_EQ(sanitize_file_name("..%2F..%2Fetc%2Fpasswd"), "_.._etc_passwd");
  EXPECT_EQ(sanitize_file_name("a%5Cb"), "a_b");
  EXPECT_EQ(sanitize_file_name("evil%E2%80%AEtxt.exe"), "eviltxt.exe");  // RLO gone
  EXPECT_EQ(sanitize_file_name("a%00b%0Ac%7F%C2%85d"), "abcd");          // C0, DEL, C1
  EXPECT_EQ(sanitize_file_name("bad%FF%C0%AFname"), "badname");          // not UTF-8
  EXPECT_EQ(sanitize_file_name("%ZZ100%"), "%ZZ100%");
  EXPECT_EQ(sanitize_file_name(""), "file");
  EXPECT_EQ(sanitize_file_name("%E2%80%8F. . "), "file");
  const std::string many(400, 'x');
  EXPECT_EQ(sanitize_file_name(many).size(), max_file_name_bytes);
  // Separators become '_' within the bound too (the fuzzer found them unbounded).
  EXPECT_EQ(sanitize_file_name(std::string(400, '\\')).size(), max_file_name_bytes);
  std::string accents;
  for (int i = 0; i < 200; ++i)
    accents += "%C3%A9";
  const std::string cut = sanitize_file_name(accents);
  EXPECT_LE(cut.size(), max_file_name_bytes);
  EXPECT_EQ(cut.size() % 2, 0u);  // whole characters only
  EXPECT_EQ(rfc8187_encode("a b\"é.txt"), "a%20b%22%C3%A9.txt");
}

class Uploads : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/duplex-uploads-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  upload_record rec(std::string id, std::string user, std::string feed, std::int64_t when = 1000) {
    return {std::move(id), "ab", std::move(user), std::move(feed), "n", "image/png", 3, 1, 1,
            when,          false};
  }
  std::string dir_;
};

TEST_F(Uploads, ClaimOnlyTheUploadersOwnForItsFeed) {
  upload_store store(dir_ + "/chat.db");
  store.add(rec("1", "alice", "general"));
  EXPECT_EQ(store.unposted("alice"), 1u);
  EXPECT_FALSE(store.claim("1", "bob", "general"));
  EXPECT_FALSE(store.claim("1", "alice", "random"));
  EXPECT_FALSE(store.claim("2", "alice", "general"));
  ASSERT_TRUE(store.claim("1", "alice", "general"));
  EXPECT_TRUE(store.find("1")->posted);
  EXPECT_TRUE(store.claim("1", "alice", "general"));  // a resend
  EXPECT_EQ(store.unposted("alice"), 0u);
}

TEST_F(Uploads, ExpiryForgetsUnpostedAndFreesBlobsNoUploadNames) {
  upload_store store(dir_ + "/chat.db");
  auto a = rec("1", "alice", "general", 10);
  a.sha256 = "shared";
  auto b = rec("2", "bob", "general", 10);
  b.sha256 = "shared";
  auto c = rec("3", "bob", "general", 10);
  c.sha256 = "alone";
  store.add(a);
  store.add(b);
  store.add(c);
  store.claim("1", "alice", "general");
  const auto gone = store.expire(100);
  EXPECT_EQ(gone, std::vector<std::string>{"alone"});
  EXPECT_FALSE(store.find("2"));
  EXPECT_TRUE(store.find("1"));
}

TEST_F(Uploads, BlobWriterStoresByContentAndCleansUp) {
  prepare_files_dir(dir_);
  std::string sha;
  {
    blob_writer w(dir_);
    int err = 0;
    ASSERT_TRUE(w.write("abc", err));
    sha = w.keep();
  }
  EXPECT_EQ(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(::access((dir_ + "/" + sha).c_str(), F_OK), 0);
  {
    blob_writer w(dir_);
    int err = 0;
    ASSERT_TRUE(w.write("half", err));
  }  // never kept: aborted
  EXPECT_EQ(std::system(("test -z \"$(ls '" + dir_ + "/tmp')\"").c_str()), 0);
  EXPECT_TRUE(valid_upload_id(new_upload_id()));
  EXPECT_FALSE(valid_upload_id("../../etc/passwd"));
}

TEST(FileRules, MembersUploadAndReadNoOneElse) {
  memory_directory rooms;
  rooms.create({"general", "", "", false, 0});
  rooms.put_member("general", {"alice", "alice", room_role::member, 0});
  rooms.put_member("general", {"muted", "muted", room_role::member, 5000});
  user_key_of key_of = [](std::string_view shown) -> std::optional<std::string> {
    if (shown == "Bob") return "bob";
    return std::nullopt;
  };
  EXPECT_EQ(upload_target_of(rooms, key_of, "alice", "room=General", 0).feed, "general");
  EXPECT_EQ(upload_target_of(rooms, key_of, "carol", "room=general", 0).status, 404);
  EXPECT_EQ(upload_target_of(rooms, key_of, "muted", "room=general", 1000).status, 403);
  EXPECT_EQ(upload_target_of(rooms, key_of, "muted", "room=general", 6000).status, 0);
  rooms.set_banned("general", "alice", true);
  EXPECT_EQ(upload_target_of(rooms, key_of, "alice", "room=general", 0).status, 403);
  EXPECT_FALSE(may_read(rooms, "alice", "general"));
  EXPECT_TRUE(may_read(rooms, "muted", "general"));
  EXPECT_FALSE(may_read(rooms, "carol", "general"));
  const auto dm = upload_target_of(rooms, key_of, "alice", "with=Bob", 0);
  EXPECT_EQ(dm.feed, conversations::feed_of("alice", "bob"));
  EXPECT_EQ(upload_target_of(rooms, key_of, "alice", "with=Nobody", 0).status, 404);
  EXPECT_EQ(upload_target_of(rooms, key_of, "alice", "", 0).status, 400);
  EXPECT_TRUE(may_read(rooms, "bob", dm.feed));
  EXPECT_FALSE(may_read(rooms, "carol", dm.feed));
}

TEST(FileWire, MessagesCarryTheirAttachmentAndNothingMalformed) {
  upload_record r{"0123456789abcdef0123456789abcdef",
                  "ab",
                  "alice",
                  "general",
                  "a \"b\".png",
                  "image/png",
                  10,
                  3,
                  2,
                  0,
                  true};
  stored_message m{"general", 7, "alice", "", 1};
  m.file = attachment_json(r);
  const auto out = nlohmann::json::parse(wire::message(m));
  EXPECT_EQ(out["file"]["id"], r.id);
  EXPECT_EQ(out["file"]["name"], "a \"b\".png");
  EXPECT_EQ(out["file"]["type"], "image");
  EXPECT_EQ(out["file"]["width"], 3);
  const auto page = nlohmann::json::parse(wire::history_page("general", {m}, 8));
  ASSERT_EQ(page["messages"].size(), 1u);  // no text, but a file: not a deleted message
  EXPECT_EQ(page["messages"][0]["file"]["height"], 2);
  m.file = "{not json";
  EXPECT_FALSE(nlohmann::json::parse(wire::message(m)).contains("file"));
  r.width = r.height = 0;
  const auto plain = nlohmann::json::parse(attachment_json(r));
  EXPECT_EQ(plain["type"], "file");
  EXPECT_FALSE(plain.contains("width"));
}

}  // namespace
}  // namespace duplex::chat
