"""A private PostgreSQL cluster for the Python tests: initdb in a throw-away directory, the server
on a free loopback port (as the `postgres` user when run as root: PostgreSQL refuses root), stopped
by its PID with SIGQUIT, as `pg_ctl stop -m immediate` does."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from checks import free_port

MISSING = ("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
           "(scripts/deps --test installs postgresql)")


def bin_dir():
    """The directory of initdb and postgres, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "postgres")):
            return d
    return None


class PgServer:
    def __init__(self):
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError(MISSING)
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="duplex-pg-")
        self.user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.user, self.group = pw.pw_uid, pw.pw_gid
            os.chown(self.dir, self.user, self.group)
        self.proc = None
        self.log = open(os.path.join(self.dir, "log"), "ab")
        # --no-sync and fsync=off: fast, and a killed server still keeps every commit.
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data(), "-U", "duplex",
                   "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]).wait(timeout=60)
        self.start()

    def data(self):
        return os.path.join(self.dir, "data")

    def _run(self, argv):
        extra = {"user": self.user, "group": self.group} if self.user is not None else {}
        return subprocess.Popen(argv, stdout=self.log, stderr=self.log, **extra)

    def url(self, db="postgres"):
        return f"postgresql://duplex@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        """Runs SQL with psql; its output (unaligned, tuples only)."""
        return subprocess.run([os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "duplex", "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def start(self):
        self.proc = self._run([os.path.join(self.bin, "postgres"), "-D", self.data(), "-k", self.dir,
                               "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                               "-c", "fsync=off", "-c", "full_page_writes=off"])
        deadline = time.monotonic() + 20
        while subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", "127.0.0.1",
                              "-p", str(self.port)]).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("postgres did not start; see " + os.path.join(self.dir, "log"))
            time.sleep(0.05)

    def stop(self):
        """Immediate shutdown, by PID: no checkpoint, the next start replays the WAL."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(3)  # SIGQUIT
            self.proc.wait(timeout=30)
        self.proc = None

    def close(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
