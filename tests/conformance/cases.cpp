#include "cases.hpp"

namespace duplex::conformance {
namespace {

constexpr std::uint8_t FIN = 0x80;
frame_spec text(std::string p, bool fin = true) {
  return {static_cast<std::uint8_t>((fin ? FIN : 0) | 1), std::move(p)};
}
frame_spec binary(std::string p, bool fin = true) {
  return {static_cast<std::uint8_t>((fin ? FIN : 0) | 2), std::move(p)};
}
frame_spec cont(std::string p, bool fin) {
  return {static_cast<std::uint8_t>((fin ? FIN : 0) | 0), std::move(p)};
}
frame_spec ping(std::string p = {}) {
  return {FIN | 9, std::move(p)};
}
frame_spec pong(std::string p = {}) {
  return {FIN | 10, std::move(p)};
}
frame_spec raw(std::uint8_t first, std::string p = {}) {
  return {first, std::move(p)};
}
frame_spec close_with(std::uint16_t code, std::string reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  return {FIN | 8, p + reason};
}
expected_frame echo_text(std::string p) {
  return {1, std::move(p)};
}
expected_frame echo_binary(std::string p) {
  return {2, std::move(p)};
}
expected_frame pong_of(std::string p) {
  return {10, std::move(p)};
}

std::string pattern(std::size_t n, char base = '*') {
  std::string s(n, base);
  for (std::size_t i = 0; i < n; i += 7)
    s[i] = static_cast<char>('a' + i % 26);
  return s;
}
std::string bytes_pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131) & 0xFF);
  return s;
}

void framing(std::vector<case_spec>& out) {
  const std::size_t sizes[] = {0, 125, 126, 127, 128, 65535, 65536};
  for (std::size_t i = 0; i < 7; ++i) {
    out.push_back({"1.1." + std::to_string(i + 1),
                   "a text message of " + std::to_string(sizes[i]) + " bytes is echoed",
                   {{text(pattern(sizes[i]))}},
                   0,
                   {echo_text(pattern(sizes[i]))},
                   {}});
    out.push_back({"1.2." + std::to_string(i + 1),
                   "a binary message of " + std::to_string(sizes[i]) + " bytes is echoed",
                   {{binary(bytes_pattern(sizes[i]))}},
                   0,
                   {echo_binary(bytes_pattern(sizes[i]))},
                   {}});
  }
  out.push_back({"1.1.8",
                 "65536 bytes of text sent in 997-byte pieces",
                 {{text(pattern(65536))}},
                 997,
                 {echo_text(pattern(65536))},
                 {}});
  out.push_back({"1.2.8",
                 "65536 binary bytes sent in 997-byte pieces",
                 {{binary(bytes_pattern(65536))}},
                 997,
                 {echo_binary(bytes_pattern(65536))},
                 {}});
}

void pings(std::vector<case_spec>& out) {
  out.push_back({"2.1",
                 "a ping without payload gets a pong without payload",
                 {{ping()}},
                 0,
                 {pong_of("")},
                 {}});
  out.push_back({"2.2",
                 "a ping's text payload comes back in the pong",
                 {{ping("Hello, world!")}},
                 0,
                 {pong_of("Hello, world!")},
                 {}});
  out.push_back({"2.3",
                 "a ping's binary payload comes back in the pong",
                 {{ping(std::string("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8))}},
                 0,
                 {pong_of(std::string("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8))},
                 {}});
  out.push_back({"2.4",
                 "a ping of 125 bytes gets a pong",
                 {{ping(std::string(125, '\xfe'))}},
                 0,
                 {pong_of(std::string(125, '\xfe'))},
                 {}});
  out.push_back({"2.5",
                 "a ping of 126 bytes is a protocol error (1002)",
                 {{ping(std::string(126, '\xfe'))}},
                 0,
                 {},
                 {1002}});
  out.push_back({"2.6",
                 "a ping of 125 bytes sent one byte at a time gets a pong",
                 {{ping(std::string(125, '\xfe'))}},
                 1,
                 {pong_of(std::string(125, '\xfe'))},
                 {}});
  out.push_back({"2.7", "an unsolicited empty pong is ignored", {{pong()}}, 0, {}, {}});
  out.push_back({"2.8",
                 "an unsolicited pong with payload is ignored",
                 {{pong("unsolicited pong payload")}},
                 0,
                 {},
                 {}});
  out.push_back({"2.9",
                 "an unsolicited pong, then a ping: only the ping is answered",
                 {{pong("unsolicited pong payload"), ping("ping payload")}},
                 0,
                 {pong_of("ping payload")},
                 {}});
  case_spec ten{"2.10", "ten pings get ten pongs, in order", {{}}, 0, {}, {}};
  for (int i = 0; i < 10; ++i) {
    ten.writes[0].push_back(ping("payload-" + std::to_string(i)));
    ten.expect.push_back(pong_of("payload-" + std::to_string(i)));
  }
  out.push_back(ten);
  ten.id = "2.11";
  ten.requirement = "ten pings sent one byte at a time get ten pongs";
  ten.chunk = 1;
  out.push_back(ten);
}

void reserved(std::vector<case_spec>& out) {
  out.push_back({"3.1",
                 "RSV1 without an extension is a protocol error",
                 {{raw(FIN | 0x40 | 1, "Hello, world!")}},
                 0,
                 {},
                 {1002}});
  out.push_back({"3.2",
                 "what came before a frame with RSV2 is echoed; the frame fails the connection; "
                 "the ping after it is not answered",
                 {{text("Hello, world!")}, {raw(FIN | 0x20 | 1, "Hello, world!")}, {ping()}},
                 0,
                 {echo_text("Hello, world!")},
                 {1002}});
  out.push_back({"3.3",
                 "the same in one write, RSV3",
                 {{text("Hello, world!"), raw(FIN | 0x10 | 1, "Hello, world!"), ping()}},
                 0,
                 {echo_text("Hello, world!")},
                 {1002}});
  out.push_back({"3.4",
                 "the same one byte at a time, RSV1+RSV2",
                 {{text("Hello, world!"), raw(FIN | 0x60 | 1, "Hello, world!"), ping()}},
                 1,
                 {echo_text("Hello, world!")},
                 {1002}});
  out.push_back({"3.5",
                 "a binary frame with RSV1+RSV3 fails",
                 {{raw(FIN | 0x50 | 2, bytes_pattern(8))}},
                 0,
                 {},
                 {1002}});
  out.push_back({"3.6",
                 "a ping with RSV2+RSV3 fails",
                 {{raw(FIN | 0x30 | 9, "Hello, world!")}},
                 0,
                 {},
                 {1002}});
  out.push_back(
      {"3.7", "a close with all RSV bits fails", {{raw(FIN | 0x70 | 8, "")}}, 0, {}, {1002}});
}

void opcodes(std::vector<case_spec>& out) {
  int n = 1;
  for (std::uint8_t op : {3, 4, 5, 6, 7}) {
    const std::string id = "4.1." + std::to_string(n++);
    if (op <= 4) {
      out.push_back({id,
                     "reserved data opcode " + std::to_string(op) + " fails the connection",
                     {{raw(FIN | op, op == 4 ? "reserved" : "")}},
                     0,
                     {},
                     {1002}});
    } else {
      out.push_back({id,
                     "after a text, reserved opcode " + std::to_string(op) +
                         " fails; the ping after it is not answered",
                     {{text("Hello, world!")}, {raw(FIN | op, "reserved")}, {ping()}},
                     op == 7 ? 1u : 0u,
                     {echo_text("Hello, world!")},
                     {1002}});
    }
  }
  n = 1;
  for (std::uint8_t op : {11, 12, 13, 14, 15}) {
    const std::string id = "4.2." + std::to_string(n++);
    if (op <= 12) {
      out.push_back({id,
                     "reserved control opcode " + std::to_string(op) + " fails the connection",
                     {{raw(FIN | op, op == 12 ? "reserved" : "")}},
                     0,
                     {},
                     {1002}});
    } else {
      out.push_back({id,
                     "after a text, reserved control opcode " + std::to_string(op) + " fails",
                     {{text("Hello, world!")}, {raw(FIN | op, "reserved")}, {ping()}},
                     op == 15 ? 1u : 0u,
                     {echo_text("Hello, world!")},
                     {1002}});
    }
  }
}

void fragments(std::vector<case_spec>& out) {
  out.push_back({"5.1",
                 "a fragmented ping fails",
                 {{raw(9, "fragment1"), cont("fragment2", true)}},
                 0,
                 {},
                 {1002}});
  out.push_back({"5.2",
                 "a fragmented pong fails",
                 {{raw(10, "fragment1"), cont("fragment2", true)}},
                 0,
                 {},
                 {1002}});
  out.push_back({"5.3",
                 "a text message in two fragments is echoed whole",
                 {{text("fragment1", false)}, {cont("fragment2", true)}},
                 0,
                 {echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.4",
                 "the same in one write",
                 {{text("fragment1", false), cont("fragment2", true)}},
                 0,
                 {echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.5",
                 "the same one byte at a time",
                 {{text("fragment1", false), cont("fragment2", true)}},
                 1,
                 {echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.6",
                 "a ping between two fragments is answered at once",
                 {{text("fragment1", false)}, {ping("ping payload")}, {cont("fragment2", true)}},
                 0,
                 {pong_of("ping payload"), echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.7",
                 "the same in one write",
                 {{text("fragment1", false), ping("ping payload"), cont("fragment2", true)}},
                 0,
                 {pong_of("ping payload"), echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.8",
                 "the same one byte at a time",
                 {{text("fragment1", false), ping("ping payload"), cont("fragment2", true)}},
                 1,
                 {pong_of("ping payload"), echo_text("fragment1fragment2")},
                 {}});
  out.push_back({"5.9",
                 "a final continuation with nothing to continue fails",
                 {{cont("non-continuation payload", true), text("Hello, world!")}},
                 0,
                 {},
                 {1002}});
  out.push_back({"5.10",
                 "the same one byte at a time",
                 {{cont("non-continuation payload", true), text("Hello, world!")}},
                 1,
                 {},
                 {1002}});
  out.push_back({"5.12",
                 "a non-final continuation with nothing to continue fails",
                 {{cont("non-continuation payload", false), text("Hello, world!")}},
                 0,
                 {},
                 {1002}});
  out.push_back({"5.15",
                 "a new text message inside a fragmented one fails after the first is echoed",
                 {{text("fragment1", false), cont("fragment2", true), cont("fragment3", false),
                   text("fragment4")}},
                 0,
                 {echo_text("fragment1fragment2")},
                 {1002}});
  out.push_back({"5.18",
                 "two non-continuation starts fail",
                 {{text("fragment1", false), text("fragment2")}},
                 0,
                 {},
                 {1002}});
  out.push_back({"5.19",
                 "pings between five fragments are answered in order, then the message is echoed",
                 {{text("fragment1", false), cont("fragment2", false), ping("pongme 1!"),
                   cont("fragment3", false), cont("fragment4", false), ping("pongme 2!"),
                   cont("fragment5", true)}},
                 0,
                 {pong_of("pongme 1!"), pong_of("pongme 2!"),
                  echo_text("fragment1fragment2fragment3fragment4fragment5")},
                 {}});
}

void utf8(std::vector<case_spec>& out) {
  out.push_back({"6.1.1", "an empty text message is echoed", {{text("")}}, 0, {echo_text("")}, {}});
  out.push_back({"6.1.2",
                 "three empty fragments make one empty message",
                 {{text("", false), cont("", false), cont("", true)}},
                 0,
                 {echo_text("")},
                 {}});
  out.push_back({"6.1.3",
                 "empty, non-empty, empty fragments",
                 {{text("", false), cont("middle frame payload", false), cont("", true)}},
                 0,
                 {echo_text("middle frame payload")},
                 {}});
  const std::string hello =
      "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
  out.push_back({"6.2.1", "valid UTF-8 in one frame", {{text(hello)}}, 0, {echo_text(hello)}, {}});
  out.push_back({"6.2.2",
                 "valid UTF-8 in two fragments split at a code point",
                 {{text(hello.substr(0, 8), false), cont(hello.substr(8), true)}},
                 0,
                 {echo_text(hello)},
                 {}});
  case_spec bytewise{
      "6.2.3",
      "valid UTF-8 with every byte its own fragment (code points split across frames)",
      {{}},
      0,
      {echo_text(hello)},
      {}};
  for (std::size_t i = 0; i < hello.size(); ++i)
    bytewise.writes[0].push_back(i == 0 ? text(hello.substr(0, 1), false)
                                        : cont(hello.substr(i, 1), i + 1 == hello.size()));
  out.push_back(bytewise);
  const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  out.push_back({"6.3.1",
                 "invalid UTF-8 (a surrogate) closes with 1007",
                 {{text(kosme + "\xed\xa0\x80"
                                "edited")}},
                 0,
                 {},
                 {1007}});
  out.push_back({"6.4.1",
                 "fail fast: the invalid second fragment closes before the third arrives",
                 {{text(kosme, false)}, {cont("\xf4\x90\x80\x80", false)}, {cont("edited", true)}},
                 0,
                 {},
                 {1007}});
  out.push_back({"6.4.3",
                 "fail fast inside one frame sent in pieces",
                 {{text(kosme + "\xf4\x90\x80\x80" + "edited")}},
                 4,
                 {},
                 {1007}});
  int n = 1;
  for (const char* valid :
       {"\x00", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbd", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    const std::string s = *valid ? std::string(valid) : std::string(1, '\0');
    out.push_back({"6.5." + std::to_string(n++),
                   "a boundary code point is valid UTF-8",
                   {{text(s)}},
                   0,
                   {echo_text(s)},
                   {}});
  }
  n = 1;
  for (const char* bad :
       {"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
        "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "\xc2", "\xe0\xa0", "\xf0\x90\x80",
        "a\xc2"
        "b"}) {
    out.push_back({"6.6." + std::to_string(n++),
                   "invalid UTF-8 closes with 1007",
                   {{text(bad)}},
                   0,
                   {},
                   {1007}});
  }
}

void closing(std::vector<case_spec>& out) {
  out.push_back({"7.1.1",
                 "a message then a close: the message is echoed, the close answered",
                 {{text("Hello World!")}},
                 0,
                 {echo_text("Hello World!")},
                 {}});
  out.push_back({"7.1.2",
                 "a second close frame is not answered",
                 {{close_with(1000), close_with(1000)}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.1.3",
                 "a ping after the close is not answered",
                 {{close_with(1000), ping("payload")}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.1.4",
                 "a text after the close is not echoed",
                 {{close_with(1000), text("payload")}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.1.5",
                 "a close between fragments ends the message",
                 {{text("fragment1", false), close_with(1000), cont("fragment2", true)}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.3.1", "an empty close is answered", {{raw(FIN | 8)}}, 0, {}, {1000, 1005}});
  out.push_back({"7.3.2",
                 "a close with one byte of payload fails (1002)",
                 {{raw(FIN | 8, "\x03")}},
                 0,
                 {},
                 {1002}});
  out.push_back(
      {"7.3.3", "a close with 1000 is answered with 1000", {{close_with(1000)}}, 0, {}, {1000}});
  out.push_back({"7.3.4",
                 "a close with a reason is answered",
                 {{close_with(1000, "Hello World!")}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.3.5",
                 "a close with a 123-byte reason is answered",
                 {{close_with(1000, std::string(123, '*'))}},
                 0,
                 {},
                 {1000}});
  out.push_back({"7.3.6",
                 "a close with a 124-byte reason (a 126-byte control frame) fails",
                 {{close_with(1000, std::string(124, '*'))}},
                 0,
                 {},
                 {1002}});
  out.push_back({"7.5.1",
                 "a close reason that is not UTF-8 closes with 1007",
                 {{close_with(1000,
                              "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                              "edited")}},
                 0,
                 {},
                 {1007}});
  int n = 1;
  for (std::uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    out.push_back({"7.7." + std::to_string(n++),
                   "valid close code " + std::to_string(code) + " is echoed",
                   {{close_with(code)}},
                   0,
                   {},
                   {code, 1000}});
  }
  n = 1;
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999}) {
    out.push_back({"7.9." + std::to_string(n++),
                   "invalid close code " + std::to_string(code) + " fails with 1002",
                   {{close_with(code)}},
                   0,
                   {},
                   {1002}});
  }
  out.push_back({"7.13.1",
                 "close code 5000 fails with 1002 (strict reading)",
                 {{close_with(5000)}},
                 0,
                 {},
                 {1002}});
  out.push_back({"7.13.2",
                 "close code 65535 fails with 1002 (strict reading)",
                 {{close_with(65535)}},
                 0,
                 {},
                 {1002}});
}

void sizes(std::vector<case_spec>& out) {
  const std::size_t big[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20};
  for (std::size_t i = 0; i < 6; ++i) {
    out.push_back({"9.1." + std::to_string(i + 1),
                   "a text message of " + std::to_string(big[i]) + " bytes is echoed",
                   {{text(pattern(big[i]))}},
                   0,
                   {echo_text(pattern(big[i]))},
                   {}});
    out.push_back({"9.2." + std::to_string(i + 1),
                   "a binary message of " + std::to_string(big[i]) + " bytes is echoed",
                   {{binary(bytes_pattern(big[i]))}},
                   0,
                   {echo_binary(bytes_pattern(big[i]))},
                   {}});
  }
  const std::size_t pieces[] = {64, 16 << 10, 4 << 20};
  int n = 1;
  for (std::size_t p : pieces) {
    case_spec c{"9.3." + std::to_string(n),
                "4 MiB of text in fragments of " + std::to_string(p) + " bytes",
                {{}},
                0,
                {echo_text(pattern(4 << 20))},
                {}};
    case_spec b{"9.4." + std::to_string(n++),
                "4 MiB of binary in fragments of " + std::to_string(p) + " bytes",
                {{}},
                0,
                {echo_binary(bytes_pattern(4 << 20))},
                {}};
    const std::string t = pattern(4 << 20), bb = bytes_pattern(4 << 20);
    for (std::size_t at = 0; at < t.size(); at += p) {
      const bool first = at == 0, last = at + p >= t.size();
      c.writes[0].push_back(first ? text(t.substr(at, p), last) : cont(t.substr(at, p), last));
      b.writes[0].push_back(first ? binary(bb.substr(at, p), last) : cont(bb.substr(at, p), last));
    }
    out.push_back(c);
    out.push_back(b);
  }
  out.push_back({"9.5.1",
                 "1 MiB of text written in 64-byte pieces",
                 {{text(pattern(1 << 20))}},
                 64,
                 {echo_text(pattern(1 << 20))},
                 {}});
  case_spec auto_frag{"10.1.1", "65536 bytes in 1300-byte fragments", {{}},
                      0,        {echo_text(pattern(65536))},          {}};
  const std::string t = pattern(65536);
  for (std::size_t at = 0; at < t.size(); at += 1300)
    auto_frag.writes[0].push_back(at == 0 ? text(t.substr(at, 1300), false)
                                          : cont(t.substr(at, 1300), at + 1300 >= t.size()));
  out.push_back(auto_frag);
}

void compression(std::vector<case_spec>& out) {
  const std::size_t sizes[] = {16, 64, 256, 1024, 4096, 16384, 65536, 262144};
  int n = 1;
  for (std::size_t s : sizes) {
    case_spec c{"12.1." + std::to_string(n++),
                "compressed text of " + std::to_string(s) + " bytes, ten times, is echoed",
                {{}},
                0,
                {},
                {}};
    c.deflate = true;
    for (int i = 0; i < 10; ++i) {
      frame_spec f = text(pattern(s, static_cast<char>('A' + i)));
      f.compress = true;
      c.writes[0].push_back(f);
      c.expect.push_back(echo_text(pattern(s, static_cast<char>('A' + i))));
    }
    out.push_back(c);
  }
  struct variant {
    const char* what;
    bool snct, cnct;
    int smwb, cmwb;
  };
  n = 1;
  for (const variant& v :
       {variant{"client_no_context_takeover", false, true, 15, 15},
        variant{"server_no_context_takeover", true, false, 15, 15},
        variant{"client_max_window_bits=9", false, false, 15, 9},
        variant{"server_max_window_bits=9", false, false, 9, 15},
        variant{"no context takeover both ways, 10-bit windows", true, true, 10, 10}}) {
    case_spec c{"13." + std::to_string(n++) + ".1",
                std::string("compressed messages with ") + v.what,
                {{}},
                0,
                {},
                {}};
    c.deflate = true;
    c.offer.server_no_context_takeover = v.snct;
    c.offer.client_no_context_takeover = v.cnct;
    c.offer.server_max_window_bits = v.smwb;
    c.offer.client_max_window_bits = v.cmwb;
    for (int i = 0; i < 8; ++i) {
      frame_spec f =
          binary(pattern(4096 + static_cast<std::size_t>(i) * 999, static_cast<char>('a' + i)));
      f.compress = true;
      c.writes[0].push_back(f);
      c.expect.push_back(echo_binary(f.payload));
    }
    out.push_back(c);
  }
}

}  // namespace

std::string case_spec::name() const {
  std::string n = "case_" + id;
  for (auto& ch : n)
    if (ch == '.') ch = '_';
  return n;
}

std::vector<case_spec> all_cases() {
  std::vector<case_spec> out;
  framing(out);
  pings(out);
  reserved(out);
  opcodes(out);
  fragments(out);
  utf8(out);
  closing(out);
  sizes(out);
  compression(out);
  return out;
}

}  // namespace duplex::conformance
