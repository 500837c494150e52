// A private PostgreSQL cluster for tests: initdb in a throw-away directory, the server on a free
// loopback port (run as the `postgres` user when the tests run as root, since PostgreSQL refuses
// root), a fresh database per test, stopped by its PID.
#pragma once

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback_listener.hpp"

namespace duplex::test {

class pg_server {
 public:
  // The directory of initdb and postgres (any installed major version), or "" when there is none.
  static std::string bin_dir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& v : fs::directory_iterator("/usr/lib/postgresql", ec))
      if (fs::exists(v.path() / "bin" / "initdb") && fs::exists(v.path() / "bin" / "postgres"))
        return (v.path() / "bin").string();
    return "";
  }
  static constexpr const char* missing =
      "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (scripts/deps --test "
      "installs postgresql)";

  pg_server() : bin_(bin_dir()), port_(loopback_listener().port()) {
    if (bin_.empty()) throw std::runtime_error(missing);
    char tmpl[] = "/tmp/duplex-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("running as root and no `postgres` user");
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (::chown(dir_.c_str(), uid_, gid_) != 0) throw std::runtime_error("chown failed");
    }
    // --no-sync and fsync=off: a test cluster trades crash safety of the machine for speed;
    // a killed server still keeps every commit (the WAL is written before each answer).
    run_and_wait({bin_ + "/initdb", "-D", data(), "-U", "duplex", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync"});
    start();
  }
  ~pg_server() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // A libpq connection string for `db`.
  std::string conninfo(const std::string& db = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=duplex dbname=" + db;
  }
  std::string url(const std::string& db) const {
    return "postgresql://duplex@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new empty database (a fresh name each call); its name.
  std::string fresh_database() {
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++made_);
    exec("CREATE DATABASE " + name);
    return name;
  }
  // Runs one statement as the superuser on `db`; throws with the server's message.
  void exec(const std::string& sql, const std::string& db = "postgres") const {
    std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(conninfo(db).c_str()), PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK)
      throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c.get()));
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), PQclear);
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
  }

  // Starts the server on the same port and data (after stop()), and waits until it answers.
  void start() {
    pid_ = spawn({bin_ + "/postgres", "-D", data(), "-k", dir_, "-p", std::to_string(port_), "-c",
                  "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                  "-c", "max_connections=50"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (PQping(conninfo().c_str()) != PQPING_OK) {
      if (std::chrono::steady_clock::now() > deadline || exited())
        throw std::runtime_error("postgres did not start on port " + std::to_string(port_));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // As `pg_ctl stop -m immediate`: SIGQUIT to the postmaster, by its PID; no checkpoint, so the
  // next start replays the WAL as after a crash.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string data() const { return dir_ + "/data"; }

  bool exited() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

  // Forks and execs argv as the postgres user when root, output to a log in the directory.
  pid_t spawn(std::vector<std::string> args) const {
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = dir_ + "/log";
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      if (gid_ != 0 && (::setgid(gid_) != 0 || ::setuid(uid_) != 0)) ::_exit(126);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }
  void run_and_wait(std::vector<std::string> args) const {
    const pid_t pid = spawn(std::move(args));
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("initdb failed; see " + dir_ + "/log");
  }

  std::string bin_;
  std::uint16_t port_;
  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  int made_ = 0;
};

// One cluster per test binary, started by the first test that asks (so binaries and tests that
// never need it pay nothing) and stopped at exit; null when the binaries are missing.
inline pg_server* shared_pg() {
  static std::unique_ptr<pg_server> server = [] {
    return pg_server::bin_dir().empty() ? nullptr : std::make_unique<pg_server>();
  }();
  return server.get();
}

}  // namespace duplex::test
