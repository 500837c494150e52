#include "duplex/core/sha1.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace duplex::core {
namespace {

struct md_free {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// Fetching the algorithm costs more than hashing a handshake key: do it once per process, and
// keep one digest context per thread.
const EVP_MD* sha1_md() {
  static const std::unique_ptr<EVP_MD, md_free> md(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  if (!md) throw std::runtime_error("SHA-1 is not available");
  return md.get();
}

}  // namespace

sha1_digest sha1(std::string_view data) {
  thread_local const std::unique_ptr<EVP_MD_CTX, ctx_free> ctx(EVP_MD_CTX_new());
  sha1_digest out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha1_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("SHA-1 digest failed");
  }
  return out;
}

}  // namespace duplex::core
