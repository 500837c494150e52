// Self-signed certificates made at test time with the openssl command, in a temporary folder.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace duplex::test {

struct cert_files {
  std::filesystem::path dir;
  std::string cert, key;

  // A certificate for `names` (a subjectAltName list such as "DNS:localhost,IP:127.0.0.1").
  explicit cert_files(const std::string& names) {
    static int n = 0;
    dir = std::filesystem::temp_directory_path() /
          ("duplex-certs-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=duplex-test -addext subjectAltName=" +
        names + " -keyout " + key + " -out " + cert + " 2>/dev/null";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~cert_files() { std::filesystem::remove_all(dir); }
  bool ok = false;
};

}  // namespace duplex::test
