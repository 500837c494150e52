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

// Lists the case under `id`; `fill` writes the rest of it, and runs only when its test does.
void add(std::vector<case_ref>& out, std::string id, std::function<void(case_spec&)> fill) {
  out.push_back({id, [id, fill = std::move(fill)] {
                   case_spec c;
                   c.id = id;
                   fill(c);
                   return c;
                 }});
}

void framing(std::vector<case_ref>& out) {
  const std::size_t sizes[] = {0, 125, 126, 127, 128, 65535, 65536};
  for (std::size_t i = 0; i < 7; ++i) {
    const std::size_t n = sizes[i];
    add(out, "1.1." + std::to_string(i + 1), [n](case_spec& c) {
      c.requirement = "a text message of " + std::to_string(n) + " bytes is echoed";
      c.writes = {{text(pattern(n))}};
      c.expect = {echo_text(pattern(n))};
    });
    add(out, "1.2." + std::to_string(i + 1), [n](case_spec& c) {
      c.requirement = "a binary message of " + std::to_string(n) + " bytes is echoed";
      c.writes = {{binary(bytes_pattern(n))}};
      c.expect = {echo_binary(bytes_pattern(n))};
    });
  }
  add(out, "1.1.8", [](case_spec& c) {
    c.requirement = "65536 bytes of text sent in 997-byte pieces";
    c.writes = {{text(pattern(65536))}};
    c.chunk = 997;
    c.expect = {echo_text(pattern(65536))};
  });
  add(out, "1.2.8", [](case_spec& c) {
    c.requirement = "65536 binary bytes sent in 997-byte pieces";
    c.writes = {{binary(bytes_pattern(65536))}};
    c.chunk = 997;
    c.expect = {echo_binary(bytes_pattern(65536))};
  });
}

void pings(std::vector<case_ref>& out) {
  add(out, "2.1", [](case_spec& c) {
    c.requirement = "a ping without payload gets a pong without payload";
    c.writes = {{ping()}};
    c.expect = {pong_of("")};
  });
  add(out, "2.2", [](case_spec& c) {
    c.requirement = "a ping's text payload comes back in the pong";
    c.writes = {{ping("Hello, world!")}};
    c.expect = {pong_of("Hello, world!")};
  });
  add(out, "2.3", [](case_spec& c) {
    c.requirement = "a ping's binary payload comes back in the pong";
    c.writes = {{ping(std::string("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8))}};
    c.expect = {pong_of(std::string("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8))};
  });
  add(out, "2.4", [](case_spec& c) {
    c.requirement = "a ping of 125 bytes gets a pong";
    c.writes = {{ping(std::string(125, '\xfe'))}};
    c.expect = {pong_of(std::string(125, '\xfe'))};
  });
  add(out, "2.5", [](case_spec& c) {
    c.requirement = "a ping of 126 bytes is a protocol error (1002)";
    c.writes = {{ping(std::string(126, '\xfe'))}};
    c.codes = {1002};
  });
  add(out, "2.6", [](case_spec& c) {
    c.requirement = "a ping of 125 bytes sent one byte at a time gets a pong";
    c.writes = {{ping(std::string(125, '\xfe'))}};
    c.chunk = 1;
    c.expect = {pong_of(std::string(125, '\xfe'))};
  });
  add(out, "2.7", [](case_spec& c) {
    c.requirement = "an unsolicited empty pong is ignored";
    c.writes = {{pong()}};
  });
  add(out, "2.8", [](case_spec& c) {
    c.requirement = "an unsolicited pong with payload is ignored";
    c.writes = {{pong("unsolicited pong payload")}};
  });
  add(out, "2.9", [](case_spec& c) {
    c.requirement = "an unsolicited pong, then a ping: only the ping is answered";
    c.writes = {{pong("unsolicited pong payload"), ping("ping payload")}};
    c.expect = {pong_of("ping payload")};
  });
  const auto ten_pings = [](case_spec& c) {
    std::vector<frame_spec> write;
    for (int i = 0; i < 10; ++i) {
      write.push_back(ping("payload-" + std::to_string(i)));
      c.expect.push_back(pong_of("payload-" + std::to_string(i)));
    }
    c.writes.push_back(std::move(write));
  };
  add(out, "2.10", [ten_pings](case_spec& c) {
    c.requirement = "ten pings get ten pongs, in order";
    ten_pings(c);
  });
  add(out, "2.11", [ten_pings](case_spec& c) {
    c.requirement = "ten pings sent one byte at a time get ten pongs";
    ten_pings(c);
    c.chunk = 1;
  });
}

void reserved(std::vector<case_ref>& out) {
  add(out, "3.1", [](case_spec& c) {
    c.requirement = "RSV1 without an extension is a protocol error";
    c.writes = {{raw(FIN | 0x40 | 1, "Hello, world!")}};
    c.codes = {1002};
  });
  add(out, "3.2", [](case_spec& c) {
    c.requirement =
        "what came before a frame with RSV2 is echoed; the frame fails the connection; "
        "the ping after it is not answered";
    c.writes = {{text("Hello, world!")}, {raw(FIN | 0x20 | 1, "Hello, world!")}, {ping()}};
    c.expect = {echo_text("Hello, world!")};
    c.codes = {1002};
  });
  add(out, "3.3", [](case_spec& c) {
    c.requirement = "the same in one write, RSV3";
    c.writes = {{text("Hello, world!"), raw(FIN | 0x10 | 1, "Hello, world!"), ping()}};
    c.expect = {echo_text("Hello, world!")};
    c.codes = {1002};
  });
  add(out, "3.4", [](case_spec& c) {
    c.requirement = "the same one byte at a time, RSV1+RSV2";
    c.writes = {{text("Hello, world!"), raw(FIN | 0x60 | 1, "Hello, world!"), ping()}};
    c.chunk = 1;
    c.expect = {echo_text("Hello, world!")};
    c.codes = {1002};
  });
  add(out, "3.5", [](case_spec& c) {
    c.requirement = "a binary frame with RSV1+RSV3 fails";
    c.writes = {{raw(FIN | 0x50 | 2, bytes_pattern(8))}};
    c.codes = {1002};
  });
  add(out, "3.6", [](case_spec& c) {
    c.requirement = "a ping with RSV2+RSV3 fails";
    c.writes = {{raw(FIN | 0x30 | 9, "Hello, world!")}};
    c.codes = {1002};
  });
  add(out, "3.7", [](case_spec& c) {
    c.requirement = "a close with all RSV bits fails";
    c.writes = {{raw(FIN | 0x70 | 8, "")}};
    c.codes = {1002};
  });
}

void opcodes(std::vector<case_ref>& out) {
  int n = 1;
  for (std::uint8_t op : {3, 4, 5, 6, 7}) {
    const std::string id = "4.1." + std::to_string(n++);
    if (op <= 4) {
      add(out, id, [op](case_spec& c) {
        c.requirement = "reserved data opcode " + std::to_string(op) + " fails the connection";
        c.writes = {{raw(FIN | op, op == 4 ? "reserved" : "")}};
        c.codes = {1002};
      });
    } else {
      add(out, id, [op](case_spec& c) {
        c.requirement = "after a text, reserved opcode " + std::to_string(op) +
                        " fails; the ping after it is not answered";
        c.writes = {{text("Hello, world!")}, {raw(FIN | op, "reserved")}, {ping()}};
        c.chunk = op == 7 ? 1u : 0u;
        c.expect = {echo_text("Hello, world!")};
        c.codes = {1002};
      });
    }
  }
  n = 1;
  for (std::uint8_t op : {11, 12, 13, 14, 15}) {
    const std::string id = "4.2." + std::to_string(n++);
    if (op <= 12) {
      add(out, id, [op](case_spec& c) {
        c.requirement = "reserved control opcode " + std::to_string(op) + " fails the connection";
        c.writes = {{raw(FIN | op, op == 12 ? "reserved" : "")}};
        c.codes = {1002};
      });
    } else {
      add(out, id, [op](case_spec& c) {
        c.requirement = "after a text, reserved control opcode " + std::to_string(op) + " fails";
        c.writes = {{text("Hello, world!")}, {raw(FIN | op, "reserved")}, {ping()}};
        c.chunk = op == 15 ? 1u : 0u;
        c.expect = {echo_text("Hello, world!")};
        c.codes = {1002};
      });
    }
  }
}

void fragments(std::vector<case_ref>& out) {
  add(out, "5.1", [](case_spec& c) {
    c.requirement = "a fragmented ping fails";
    c.writes = {{raw(9, "fragment1"), cont("fragment2", true)}};
    c.codes = {1002};
  });
  add(out, "5.2", [](case_spec& c) {
    c.requirement = "a fragmented pong fails";
    c.writes = {{raw(10, "fragment1"), cont("fragment2", true)}};
    c.codes = {1002};
  });
  add(out, "5.3", [](case_spec& c) {
    c.requirement = "a text message in two fragments is echoed whole";
    c.writes = {{text("fragment1", false)}, {cont("fragment2", true)}};
    c.expect = {echo_text("fragment1fragment2")};
  });
  add(out, "5.4", [](case_spec& c) {
    c.requirement = "the same in one write";
    c.writes = {{text("fragment1", false), cont("fragment2", true)}};
    c.expect = {echo_text("fragment1fragment2")};
  });
  add(out, "5.5", [](case_spec& c) {
    c.requirement = "the same one byte at a time";
    c.writes = {{text("fragment1", false), cont("fragment2", true)}};
    c.chunk = 1;
    c.expect = {echo_text("fragment1fragment2")};
  });
  add(out, "5.6", [](case_spec& c) {
    c.requirement = "a ping between two fragments is answered at once";
    c.writes = {{text("fragment1", false)}, {ping("ping payload")}, {cont("fragment2", true)}};
    c.expect = {pong_of("ping payload"), echo_text("fragment1fragment2")};
  });
  add(out, "5.7", [](case_spec& c) {
    c.requirement = "the same in one write";
    c.writes = {{text("fragment1", false), ping("ping payload"), cont("fragment2", true)}};
    c.expect = {pong_of("ping payload"), echo_text("fragment1fragment2")};
  });
  add(out, "5.8", [](case_spec& c) {
    c.requirement = "the same one byte at a time";
    c.writes = {{text("fragment1", false), ping("ping payload"), cont("fragment2", true)}};
    c.chunk = 1;
    c.expect = {pong_of("ping payload"), echo_text("fragment1fragment2")};
  });
  add(out, "5.9", [](case_spec& c) {
    c.requirement = "a final continuation with nothing to continue fails";
    c.writes = {{cont("non-continuation payload", true), text("Hello, world!")}};
    c.codes = {1002};
  });
  add(out, "5.10", [](case_spec& c) {
    c.requirement = "the same one byte at a time";
    c.writes = {{cont("non-continuation payload", true), text("Hello, world!")}};
    c.chunk = 1;
    c.codes = {1002};
  });
  add(out, "5.12", [](case_spec& c) {
    c.requirement = "a non-final continuation with nothing to continue fails";
    c.writes = {{cont("non-continuation payload", false), text("Hello, world!")}};
    c.codes = {1002};
  });
  add(out, "5.15", [](case_spec& c) {
    c.requirement = "a new text message inside a fragmented one fails after the first is echoed";
    c.writes = {{text("fragment1", false), cont("fragment2", true), cont("fragment3", false),
                 text("fragment4")}};
    c.expect = {echo_text("fragment1fragment2")};
    c.codes = {1002};
  });
  add(out, "5.18", [](case_spec& c) {
    c.requirement = "two non-continuation starts fail";
    c.writes = {{text("fragment1", false), text("fragment2")}};
    c.codes = {1002};
  });
  add(out, "5.19", [](case_spec& c) {
    c.requirement =
        "pings between five fragments are answered in order, then the message is echoed";
    c.writes = {{text("fragment1", false), cont("fragment2", false), ping("pongme 1!"),
                 cont("fragment3", false), cont("fragment4", false), ping("pongme 2!"),
                 cont("fragment5", true)}};
    c.expect = {pong_of("pongme 1!"), pong_of("pongme 2!"),
                echo_text("fragment1fragment2fragment3fragment4fragment5")};
  });
}

void utf8(std::vector<case_ref>& out) {
  add(out, "6.1.1", [](case_spec& c) {
    c.requirement = "an empty text message is echoed";
    c.writes = {{text("")}};
    c.expect = {echo_text("")};
  });
  add(out, "6.1.2", [](case_spec& c) {
    c.requirement = "three empty fragments make one empty message";
    c.writes = {{text("", false), cont("", false), cont("", true)}};
    c.expect = {echo_text("")};
  });
  add(out, "6.1.3", [](case_spec& c) {
    c.requirement = "empty, non-empty, empty fragments";
    c.writes = {{text("", false), cont("middle frame payload", false), cont("", true)}};
    c.expect = {echo_text("middle frame payload")};
  });
  const std::string hello =
      "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
  add(out, "6.2.1", [hello](case_spec& c) {
    c.requirement = "valid UTF-8 in one frame";
    c.writes = {{text(hello)}};
    c.expect = {echo_text(hello)};
  });
  add(out, "6.2.2", [hello](case_spec& c) {
    c.requirement = "valid UTF-8 in two fragments split at a code point";
    c.writes = {{text(hello.substr(0, 8), false), cont(hello.substr(8), true)}};
    c.expect = {echo_text(hello)};
  });
  add(out, "6.2.3", [hello](case_spec& c) {
    c.requirement =
        "valid UTF-8 with every byte its own fragment (code points split across frames)";
    std::vector<frame_spec> write;
    for (std::size_t i = 0; i < hello.size(); ++i)
      write.push_back(i == 0 ? text(hello.substr(0, 1), false)
                             : cont(hello.substr(i, 1), i + 1 == hello.size()));
    c.writes.push_back(std::move(write));
    c.expect = {echo_text(hello)};
  });
  const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  add(out, "6.3.1", [kosme](case_spec& c) {
    c.requirement = "invalid UTF-8 (a surrogate) closes with 1007";
    c.writes = {{text(kosme + "\xed\xa0\x80"
                              "edited")}};
    c.codes = {1007};
  });
  add(out, "6.4.1", [kosme](case_spec& c) {
    c.requirement = "fail fast: the invalid second fragment closes before the third arrives";
    c.writes = {{text(kosme, false)}, {cont("\xf4\x90\x80\x80", false)}, {cont("edited", true)}};
    c.codes = {1007};
  });
  add(out, "6.4.3", [kosme](case_spec& c) {
    c.requirement = "fail fast inside one frame sent in pieces";
    c.writes = {{text(kosme + "\xf4\x90\x80\x80" + "edited")}};
    c.chunk = 4;
    c.codes = {1007};
  });
  int n = 1;
  for (const char* valid :
       {"\x00", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbd", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    const std::string s = *valid ? std::string(valid) : std::string(1, '\0');
    add(out, "6.5." + std::to_string(n++), [s](case_spec& c) {
      c.requirement = "a boundary code point is valid UTF-8";
      c.writes = {{text(s)}};
      c.expect = {echo_text(s)};
    });
  }
  n = 1;
  for (const char* bad :
       {"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
        "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "\xc2", "\xe0\xa0", "\xf0\x90\x80",
        "a\xc2"
        "b"}) {
    add(out, "6.6." + std::to_string(n++), [bad](case_spec& c) {
      c.requirement = "invalid UTF-8 closes with 1007";
      c.writes = {{text(bad)}};
      c.codes = {1007};
    });
  }
}

void closing(std::vector<case_ref>& out) {
  add(out, "7.1.1", [](case_spec& c) {
    c.requirement = "a message then a close: the message is echoed, the close answered";
    c.writes = {{text("Hello World!")}};
    c.expect = {echo_text("Hello World!")};
  });
  add(out, "7.1.2", [](case_spec& c) {
    c.requirement = "a second close frame is not answered";
    c.writes = {{close_with(1000), close_with(1000)}};
    c.codes = {1000};
  });
  add(out, "7.1.3", [](case_spec& c) {
    c.requirement = "a ping after the close is not answered";
    c.writes = {{close_with(1000), ping("payload")}};
    c.codes = {1000};
  });
  add(out, "7.1.4", [](case_spec& c) {
    c.requirement = "a text after the close is not echoed";
    c.writes = {{close_with(1000), text("payload")}};
    c.codes = {1000};
  });
  add(out, "7.1.5", [](case_spec& c) {
    c.requirement = "a close between fragments ends the message";
    c.writes = {{text("fragment1", false), close_with(1000), cont("fragment2", true)}};
    c.codes = {1000};
  });
  add(out, "7.3.1", [](case_spec& c) {
    c.requirement = "an empty close is answered";
    c.writes = {{raw(FIN | 8)}};
    c.codes = {1000, 1005};
  });
  add(out, "7.3.2", [](case_spec& c) {
    c.requirement = "a close with one byte of payload fails (1002)";
    c.writes = {{raw(FIN | 8, "\x03")}};
    c.codes = {1002};
  });
  add(out, "7.3.3", [](case_spec& c) {
    c.requirement = "a close with 1000 is answered with 1000";
    c.writes = {{close_with(1000)}};
    c.codes = {1000};
  });
  add(out, "7.3.4", [](case_spec& c) {
    c.requirement = "a close with a reason is answered";
    c.writes = {{close_with(1000, "Hello World!")}};
    c.codes = {1000};
  });
  add(out, "7.3.5", [](case_spec& c) {
    c.requirement = "a close with a 123-byte reason is answered";
    c.writes = {{close_with(1000, std::string(123, '*'))}};
    c.codes = {1000};
  });
  add(out, "7.3.6", [](case_spec& c) {
    c.requirement = "a close with a 124-byte reason (a 126-byte control frame) fails";
    c.writes = {{close_with(1000, std::string(124, '*'))}};
    c.codes = {1002};
  });
  add(out, "7.5.1", [](case_spec& c) {
    c.requirement = "a close reason that is not UTF-8 closes with 1007";
    c.writes = {{close_with(1000,
                            "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                            "edited")}};
    c.codes = {1007};
  });
  int n = 1;
  for (std::uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    add(out, "7.7." + std::to_string(n++), [code](case_spec& c) {
      c.requirement = "valid close code " + std::to_string(code) + " is echoed";
      c.writes = {{close_with(code)}};
      c.codes = {code, 1000};
    });
  }
  n = 1;
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999}) {
    add(out, "7.9." + std::to_string(n++), [code](case_spec& c) {
      c.requirement = "invalid close code " + std::to_string(code) + " fails with 1002";
      c.writes = {{close_with(code)}};
      c.codes = {1002};
    });
  }
  add(out, "7.13.1", [](case_spec& c) {
    c.requirement = "close code 5000 fails with 1002 (strict reading)";
    c.writes = {{close_with(5000)}};
    c.codes = {1002};
  });
  add(out, "7.13.2", [](case_spec& c) {
    c.requirement = "close code 65535 fails with 1002 (strict reading)";
    c.writes = {{close_with(65535)}};
    c.codes = {1002};
  });
}

// `message` as fragments of `piece` bytes: the first carries `opcode`, the rest continue it.
std::vector<frame_spec> fragmented(std::uint8_t opcode, const std::string& message,
                                   std::size_t piece) {
  std::vector<frame_spec> out;
  for (std::size_t at = 0; at < message.size(); at += piece) {
    const bool first = at == 0, last = at + piece >= message.size();
    out.push_back({static_cast<std::uint8_t>((last ? FIN : 0) | (first ? opcode : 0)),
                   message.substr(at, piece)});
  }
  return out;
}

void sizes(std::vector<case_ref>& out) {
  const std::size_t big[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t n = big[i];
    add(out, "9.1." + std::to_string(i + 1), [n](case_spec& c) {
      c.requirement = "a text message of " + std::to_string(n) + " bytes is echoed";
      c.writes = {{text(pattern(n))}};
      c.expect = {echo_text(pattern(n))};
    });
    add(out, "9.2." + std::to_string(i + 1), [n](case_spec& c) {
      c.requirement = "a binary message of " + std::to_string(n) + " bytes is echoed";
      c.writes = {{binary(bytes_pattern(n))}};
      c.expect = {echo_binary(bytes_pattern(n))};
    });
  }
  const std::size_t pieces[] = {64, 16 << 10, 4 << 20};
  int n = 1;
  for (std::size_t p : pieces) {
    add(out, "9.3." + std::to_string(n), [p](case_spec& c) {
      c.requirement = "4 MiB of text in fragments of " + std::to_string(p) + " bytes";
      c.writes = {fragmented(1, pattern(4 << 20), p)};
      c.expect = {echo_text(pattern(4 << 20))};
    });
    add(out, "9.4." + std::to_string(n++), [p](case_spec& c) {
      c.requirement = "4 MiB of binary in fragments of " + std::to_string(p) + " bytes";
      c.writes = {fragmented(2, bytes_pattern(4 << 20), p)};
      c.expect = {echo_binary(bytes_pattern(4 << 20))};
    });
  }
  add(out, "9.5.1", [](case_spec& c) {
    c.requirement = "1 MiB of text written in 64-byte pieces";
    c.writes = {{text(pattern(1 << 20))}};
    c.chunk = 64;
    c.expect = {echo_text(pattern(1 << 20))};
  });
  add(out, "10.1.1", [](case_spec& c) {
    c.requirement = "65536 bytes in 1300-byte fragments";
    c.writes = {fragmented(1, pattern(65536), 1300)};
    c.expect = {echo_text(pattern(65536))};
  });
}

void compression(std::vector<case_ref>& out) {
  const std::size_t sizes[] = {16, 64, 256, 1024, 4096, 16384, 65536, 262144};
  int n = 1;
  for (std::size_t s : sizes) {
    add(out, "12.1." + std::to_string(n++), [s](case_spec& c) {
      c.requirement = "compressed text of " + std::to_string(s) + " bytes, ten times, is echoed";
      c.deflate = true;
      std::vector<frame_spec> write;
      for (int i = 0; i < 10; ++i) {
        frame_spec f = text(pattern(s, static_cast<char>('A' + i)));
        f.compress = true;
        write.push_back(f);
        c.expect.push_back(echo_text(pattern(s, static_cast<char>('A' + i))));
      }
      c.writes.push_back(std::move(write));
    });
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
    add(out, "13." + std::to_string(n++) + ".1", [v](case_spec& c) {
      c.requirement = std::string("compressed messages with ") + v.what;
      c.deflate = true;
      c.offer.server_no_context_takeover = v.snct;
      c.offer.client_no_context_takeover = v.cnct;
      c.offer.server_max_window_bits = v.smwb;
      c.offer.client_max_window_bits = v.cmwb;
      std::vector<frame_spec> write;
      for (int i = 0; i < 8; ++i) {
        frame_spec f =
            binary(pattern(4096 + static_cast<std::size_t>(i) * 999, static_cast<char>('a' + i)));
        f.compress = true;
        write.push_back(f);
        c.expect.push_back(echo_binary(f.payload));
      }
      c.writes.push_back(std::move(write));
    });
  }
}

}  // namespace

std::string case_ref::name() const {
  std::string n = "case_" + id;
  for (auto& ch : n)
    if (ch == '.') ch = '_';
  return n;
}

std::vector<case_ref> all_cases() {
  std::vector<case_ref> out;
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
