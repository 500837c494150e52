#!/usr/bin/env bash
# The layering gate catches each kind of violation: a copy of the tree passes, then each planted
# violation (one per copy) must make scripts/check-layers fail and name the file.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fresh() {
  rm -rf "$work/tree" && mkdir -p "$work/tree"
  (cd "$root" && tar -c --exclude=node_modules src include apps scripts) | tar -x -C "$work/tree"
}

fresh
"$work/tree/scripts/check-layers" "$work/tree" > /dev/null || { echo "FAIL: the clean tree fails"; exit 1; }

passed=0
failed=0
plant() {  # plant NAME FILE SED-EXPRESSION
  fresh
  sed -i "$3" "$work/tree/$2"
  if out=$("$work/tree/scripts/check-layers" "$work/tree"); then
    echo "FAIL: $1 went unnoticed"; failed=$((failed + 1))
  elif ! grep -q "$2" <<< "$out"; then
    echo "FAIL: $1 reported elsewhere: $out"; failed=$((failed + 1))
  else
    echo "ok: $1"; passed=$((passed + 1))
  fi
}

plant "a socket header in ws" src/ws/frame.cpp '1i #include <sys/socket.h>'
plant "a clock in http" src/http/url.cpp '$a auto t0 = std::chrono::steady_clock::now();'
plant "an epoll name in core" src/core/sha1.cpp '$a int e = EPOLLIN;'
plant "net including ws" src/net/stream.cpp '1i #include "duplex/ws/frame.hpp"'
plant "http including ws" src/http/url.cpp '1i #include "duplex/ws/handshake.hpp"'
plant "an app including the sources" apps/cat/main.cpp '1i #include "../../src/net/io_calls.hpp"'
plant "an app speaking epoll" apps/cat/main.cpp '1i #include <sys/epoll.h>'
plant "a system header in a public header" include/duplex/net/address.hpp '1a #include <sys/socket.h>'
echo "$passed passed, $failed failed"
((failed == 0))
