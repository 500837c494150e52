#include "duplex/ws/deflate.hpp"

#include "capped_append.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "duplex/http/grammar.hpp"
#include "duplex/http/request.hpp"

namespace duplex::ws {
namespace {

constexpr unsigned char tail[4] = {0x00, 0x00, 0xFF, 0xFF};
constexpr std::size_t zlib_slice = std::size_t{1} << 30;  // well inside zlib's uInt counts

struct ext_param {
  std::string name;
  bool has_value = false;
  std::string value;
};
struct extension {
  std::string name;
  std::vector<ext_param> params;
};

// A small scanner for RFC 6455 section 9.1: extension *( ";" param [ "=" (token | quoted) ] ),
// separated by commas. Returns false on any syntax error.
class ext_scanner {
 public:
  explicit ext_scanner(std::string_view s) : s_(s) {}
  bool parse(std::vector<extension>& out) {
    while (true) {
      skip_ows();
      if (at_end()) return !out.empty();
      extension e;
      if (!token(e.name)) return false;
      skip_ows();
      while (peek(';')) {
        ++i_;
        skip_ows();
        ext_param p;
        if (!token(p.name)) return false;
        skip_ows();
        if (peek('=')) {
          ++i_;
          skip_ows();
          p.has_value = true;
          if (!(peek('"') ? quoted(p.value) : token(p.value))) return false;
          skip_ows();
        }
        e.params.push_back(std::move(p));
      }
      out.push_back(std::move(e));
      if (at_end()) return true;
      if (!peek(',')) return false;
      ++i_;
    }
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  bool peek(char c) const { return !at_end() && s_[i_] == c; }
  void skip_ows() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t'))
      ++i_;
  }
  bool token(std::string& out) {
    const std::size_t b = i_;
    while (!at_end() && http::is_tchar(static_cast<unsigned char>(s_[i_])))
      ++i_;
    out.assign(s_.substr(b, i_ - b));
    return i_ > b;
  }
  bool quoted(std::string& out) {
    ++i_;
    while (!at_end() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (at_end()) return false;
    ++i_;
    return !out.empty();
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// RFC 7692 section 7.1.2: 8..15, a decimal integer without leading zeros.
int window_bits(const std::string& v) {
  if (v.empty() || v.size() > 2 || v[0] == '0') return -1;
  for (char c : v)
    if (c < '0' || c > '9') return -1;
  const int n = std::stoi(v);
  return n >= 8 && n <= 15 ? n : -1;
}

struct offer {
  bool snct = false, cnct = false;
  int smwb = 0;  // 0: absent
  int cmwb = 0;  // 0: absent, -1: present without a value
};

// Reads one permessage-deflate element; false if any parameter is unknown, repeated or invalid.
bool read_params(const extension& e, offer& o, bool is_response) {
  std::vector<std::string> seen;
  for (const auto& p : e.params) {
    if (std::find(seen.begin(), seen.end(), p.name) != seen.end()) return false;
    seen.push_back(p.name);
    if (p.name == "server_no_context_takeover" || p.name == "client_no_context_takeover") {
      if (p.has_value) return false;
      (p.name[0] == 's' ? o.snct : o.cnct) = true;
    } else if (p.name == "server_max_window_bits") {
      if (!p.has_value || (o.smwb = window_bits(p.value)) < 0) return false;
    } else if (p.name == "client_max_window_bits") {
      // In an offer the value is optional ("I can do it"); a response must give one.
      if (!p.has_value) {
        if (is_response) return false;
        o.cmwb = -1;
      } else if ((o.cmwb = window_bits(p.value)) < 0) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<deflate_agreement> negotiate_deflate(std::string_view header,
                                                   const deflate_options& ours) {
  if (!ours.enabled) return std::nullopt;
  std::vector<extension> exts;
  if (!ext_scanner(header).parse(exts)) return std::nullopt;
  for (const auto& e : exts) {
    offer o;
    if (!http::iequals(e.name, "permessage-deflate") || !read_params(e, o, false)) continue;
    // zlib cannot compress with a window of 8 bits: an offer that demands it is declined.
    if (o.smwb == 8) continue;
    deflate_agreement a;
    auto& p = a.params;
    p.server_no_context_takeover =
        o.snct || ours.server_no_context_takeover || ours.shared_compressor;
    p.client_no_context_takeover = o.cnct || ours.client_no_context_takeover;
    p.server_max_window_bits = std::min(o.smwb ? o.smwb : 15, ours.server_max_window_bits);
    p.client_max_window_bits =
        o.cmwb == 0 ? 15 : std::min(o.cmwb > 0 ? o.cmwb : 15, ours.client_max_window_bits);
    a.response = "permessage-deflate";
    if (p.server_no_context_takeover) a.response += "; server_no_context_takeover";
    if (p.client_no_context_takeover) a.response += "; client_no_context_takeover";
    if (o.smwb || p.server_max_window_bits < 15)
      a.response += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
    if (o.cmwb != 0 && (o.cmwb > 0 || p.client_max_window_bits < 15))
      a.response += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
    return a;
  }
  return std::nullopt;
}

std::string deflate_offer(const deflate_options& ours) {
  std::string s = "permessage-deflate";
  if (ours.server_no_context_takeover) s += "; server_no_context_takeover";
  if (ours.client_no_context_takeover) s += "; client_no_context_takeover";
  if (ours.server_max_window_bits < 15)
    s += "; server_max_window_bits=" + std::to_string(ours.server_max_window_bits);
  s += "; client_max_window_bits";
  if (ours.client_max_window_bits < 15) s += "=" + std::to_string(ours.client_max_window_bits);
  return s;
}

std::optional<deflate_params> accept_deflate_response(std::string_view header,
                                                      const deflate_options& offered) {
  std::vector<extension> exts;
  if (!ext_scanner(header).parse(exts) || exts.size() != 1) return std::nullopt;
  offer o;
  if (!http::iequals(exts[0].name, "permessage-deflate") || !read_params(exts[0], o, true))
    return std::nullopt;
  // RFC 7692 section 7.1: the answer stays within the offer.
  if (offered.server_no_context_takeover && !o.snct) return std::nullopt;
  if (o.smwb && offered.server_max_window_bits < 15 && o.smwb > offered.server_max_window_bits)
    return std::nullopt;
  if (offered.server_max_window_bits < 15 && !o.smwb) return std::nullopt;
  if (o.cmwb > 0 && offered.client_max_window_bits < o.cmwb && offered.client_max_window_bits < 15)
    return std::nullopt;
  deflate_params p;
  p.server_no_context_takeover = o.snct;
  p.client_no_context_takeover = o.cnct || offered.client_no_context_takeover;
  p.server_max_window_bits = o.smwb ? o.smwb : 15;
  p.client_max_window_bits = std::min(o.cmwb > 0 ? o.cmwb : 15, offered.client_max_window_bits);
  return p;
}

// ---- codec -----------------------------------------------------------------------------

struct deflate_codec::zstate {
  z_stream def{};
  z_stream inf{};
  bool def_ready = false;
  bool inf_ready = false;
  std::size_t bytes = 0;  // zlib memory currently allocated

  static void* alloc(void* opaque, uInt items, uInt size) {
    const std::size_t n = static_cast<std::size_t>(items) * size;
    auto* p = static_cast<std::size_t*>(std::malloc(n + sizeof(std::max_align_t)));
    if (p == nullptr) return Z_NULL;
    *p = n;
    static_cast<zstate*>(opaque)->bytes += n;
    return reinterpret_cast<char*>(p) + sizeof(std::max_align_t);
  }
  static void release(void* opaque, void* addr) {
    auto* p = reinterpret_cast<std::size_t*>(static_cast<char*>(addr) - sizeof(std::max_align_t));
    static_cast<zstate*>(opaque)->bytes -= *p;
    std::free(p);
  }
  void end_deflate() {
    if (def_ready) deflateEnd(&def);
    def_ready = false;
  }
  void end_inflate() {
    if (inf_ready) inflateEnd(&inf);
    inf_ready = false;
  }
};

namespace {

// A tier's window: 9 bits for kib_4 up to 15 for kib_256.
int tier_bits(compressor_memory m) {
  return 9 + std::min(static_cast<int>(m), 6);
}

// A compressor may always use a smaller window than agreed (its peer's decompressor reads any
// smaller one): the tier caps it. An agreed window zlib cannot compress with stays, and fails.
int compressor_bits(int agreed, compressor_memory m) {
  return agreed < 9 ? agreed : std::min(agreed, tier_bits(m));
}

// Runs a whole message through `d` with a sync flush, as RFC 7692 section 7.2.1 frames it.
void deflate_whole(z_stream& d, std::string_view in, std::string& out) {
  const std::size_t start = out.size();
  // zlib counts bytes in uInt: a larger message goes in slices, flushed after the last one.
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(in.size() - at, zlib_slice);
    d.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + at));
    d.avail_in = static_cast<uInt>(n);
    at += n;
    const int flush = at == in.size() ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      const std::size_t old = out.size();
      const std::size_t room = std::min(std::max<std::size_t>(n / 2 + 64, 1024), zlib_slice);
      out.resize(old + room);
      d.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      d.avail_out = static_cast<uInt>(room);
      deflate(&d, flush);
      out.resize(old + room - d.avail_out);
    } while (d.avail_out == 0 || d.avail_in != 0);
  } while (at != in.size());
  // Section 7.2.1: remove the 00 00 FF FF that the sync flush ends with.
  if (out.size() - start >= 4 && std::memcmp(out.data() + out.size() - 4, tail, 4) == 0)
    out.resize(out.size() - 4);
  // A flush with no new input emits nothing; section 7.2.3.6 sends an empty message as 0x00.
  if (out.size() == start) out += '\0';
}

// The streams deflate_message() reuses on this thread, one per window: a reset costs far less
// than the allocation and setup of a stream per message.
class shared_streams {
 public:
  ~shared_streams() {
    for (auto& s : s_)
      if (s.ready) deflateEnd(&s.z);
  }
  z_stream* get(int bits, int level) {
    auto& s = s_[static_cast<std::size_t>(bits - 9)];
    if (s.ready && s.level != level) {
      deflateEnd(&s.z);
      s.ready = false;
    }
    if (!s.ready) {
      s.z = z_stream{};
      if (deflateInit2(&s.z, level, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return nullptr;
      s.ready = true;
      s.level = level;
    }
    return &s.z;
  }

 private:
  struct slot {
    z_stream z{};
    bool ready = false;
    int level = 0;
  };
  slot s_[7];
};

}  // namespace

bool deflate_message(std::string_view in, int window_bits, int level, std::string& out) {
  if (window_bits < 9 || window_bits > 15) return false;
  thread_local shared_streams streams;
  z_stream* d = streams.get(window_bits, level);
  if (d == nullptr) return false;
  deflate_whole(*d, in, out);
  deflateReset(d);  // no context into the next message
  return true;
}

deflate_codec::deflate_codec(bool server, const deflate_params& p, int level,
                             compressor_memory memory)
    : z_(std::make_unique<zstate>()),
      deflate_bits_(
          compressor_bits(server ? p.server_max_window_bits : p.client_max_window_bits, memory)),
      inflate_bits_(server ? p.client_max_window_bits : p.server_max_window_bits),
      reset_deflate_(server ? p.server_no_context_takeover : p.client_no_context_takeover),
      reset_inflate_(server ? p.client_no_context_takeover : p.server_no_context_takeover),
      level_(level),
      mem_level_(tier_bits(memory) - 7) {}

deflate_codec::~deflate_codec() {
  z_->end_deflate();
  z_->end_inflate();
}

std::size_t deflate_codec::memory() const noexcept {
  return z_->bytes;
}

bool deflate_codec::ensure_deflate() {
  if (z_->def_ready) return true;
  if (deflate_bits_ < 9) return false;
  z_->def = z_stream{};
  z_->def.zalloc = zstate::alloc;
  z_->def.zfree = zstate::release;
  z_->def.opaque = z_.get();
  // Negative window bits: raw deflate, no zlib header or checksum (RFC 7692 section 7.2.1).
  if (deflateInit2(&z_->def, level_, Z_DEFLATED, -deflate_bits_, mem_level_, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return false;
  z_->def_ready = true;
  return true;
}

bool deflate_codec::ensure_inflate() {
  if (z_->inf_ready) return true;
  z_->inf = z_stream{};
  z_->inf.zalloc = zstate::alloc;
  z_->inf.zfree = zstate::release;
  z_->inf.opaque = z_.get();
  // The window the peer agreed to compress with is all the history its data may refer to, and
  // zlib allocates exactly that: 512 bytes for 9 bits instead of 32 KiB, for as long as the
  // context is kept. Data reaching further back is corrupt (RFC 7692 section 7.1.2). A value
  // zlib would not take (a hand-built deflate_params) reads with the largest window instead.
  const int bits = inflate_bits_ >= 8 && inflate_bits_ <= 15 ? inflate_bits_ : 15;
  if (inflateInit2(&z_->inf, -bits) != Z_OK) return false;
  z_->inf_ready = true;
  return true;
}

bool deflate_codec::compress(std::string_view in, std::string& out) {
  // Without context the thread's shared stream does the same work, and this socket holds no
  // compressor between messages nor pays for setting one up for each.
  if (reset_deflate_) return deflate_message(in, deflate_bits_, level_, out);
  if (!ensure_deflate()) return false;
  deflate_whole(z_->def, in, out);
  return true;
}

deflate_codec::result deflate_codec::inflate_some(const unsigned char* in, std::size_t n,
                                                  std::string& out, std::size_t limit) {
  z_stream& f = z_->inf;
  // RFC 7692 section 7.2.3.4: after a block with BFINAL the message is over; bytes after it
  // would start a second stream inside one message.
  if (stream_ended_ && n != 0) return result::corrupt;
  f.next_in = const_cast<Bytef*>(in);
  f.avail_in = static_cast<uInt>(n);
  // zlib writes into this buffer and only what it wrote is appended to `out`: resizing `out`
  // instead would zero-fill all the space offered on every call, whether zlib filled it or not,
  // which made each tiny or empty fragment cost 64 KiB of writes.
  unsigned char buf[16 * 1024];
  // Never inflate more than one byte past the limit (the byte that shows it was passed): a
  // small bomb cannot take memory. The largest limit cannot be passed, and must not wrap to 0.
  const std::size_t cap = limit == SIZE_MAX ? limit : limit + 1;
  while (true) {
    const std::size_t room = std::min(sizeof buf, cap - std::min(cap, out.size()));
    if (room == 0) return result::too_big;
    f.next_out = buf;
    f.avail_out = static_cast<uInt>(room);
    ++work_.zlib_calls;
    const int rc = ::inflate(&f, Z_SYNC_FLUSH);
    const std::size_t produced = room - f.avail_out;
    if (produced != 0)
      work_.bytes_written +=
          detail::append_capped(out, {reinterpret_cast<const char*>(buf), produced}, cap);
    if (out.size() > limit) return result::too_big;
    if (rc == Z_STREAM_END) {
      inflateReset(&f);  // a final block ends the stream; the next message starts a new one
      stream_ended_ = true;
      if (f.avail_in != 0) return result::corrupt;
      return result::ok;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return result::corrupt;
    }
    if (f.avail_in == 0 && f.avail_out != 0) return result::ok;
    if (rc == Z_BUF_ERROR && f.avail_out != 0) return result::ok;
  }
}

deflate_codec::result deflate_codec::inflate(std::string_view in, bool last, std::string& out,
                                             std::size_t limit) {
  // An empty piece that does not end the message has nothing for zlib: skipping it keeps the
  // cost of an empty continuation frame to the frame header alone.
  if (in.empty() && !last && out.size() <= limit) return result::ok;
  if (!ensure_inflate()) return result::corrupt;
  auto r = result::ok;
  // zlib counts bytes in uInt: a larger piece goes in slices.
  for (std::size_t at = 0; at < in.size() && r == result::ok; at += zlib_slice) {
    const std::size_t n = std::min(in.size() - at, zlib_slice);
    r = inflate_some(reinterpret_cast<const unsigned char*>(in.data() + at), n, out, limit);
  }
  // RFC 7692 section 7.2.2: the sender removed the 00 00 FF FF that ends a sync flush; put it
  // back so that the stream is at a block boundary for the next message.
  // A stream that ended with BFINAL has no sync flush to complete: the tail would be read as
  // the start of a new stream, and fail.
  if (r == result::ok && last && !stream_ended_) r = inflate_some(tail, sizeof tail, out, limit);
  if (last || r != result::ok) {
    stream_ended_ = false;
    if (reset_inflate_ || r != result::ok) z_->end_inflate();
  }
  return r;
}

}  // namespace duplex::ws
