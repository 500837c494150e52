#!/usr/bin/env bash
# duplex as a user adopts it: installed, then found by CMake (find_package) and by pkg-config,
# and taken as a subproject; each consumer builds and runs a server-client round trip.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" > /dev/null
test -f "$work/prefix/share/doc/duplex/LICENSE"

echo "--- find_package(duplex) from the installed prefix"
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/examples" -j2 > /dev/null
"$work/examples/roundtrip"
"$work/examples/ticker" --self-test
"$work/examples/auth" --self-test
"$work/examples/worker_reply" --self-test
"$work/examples/backpressure" --self-test
"$work/examples/upload" --self-test
"$work/examples/reconnect" --self-test
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2> /dev/null
"$work/examples/wss_client" --self-test "$work/cert.pem" "$work/key.pem"

echo "--- the README's own project (CMakeLists.txt and main.cpp as written there)"
readme_block() {  # the first block of language $1 in "Use it in your project"
  awk '/^## Use it in your project/{on=1} /^\*\*As a subproject/{on=0} on' "$src/README.md" |
    awk -v fence="\`\`\`$1" '$0 == fence {f=1; next} f && $0 == "```" {exit} f'
}
mkdir "$work/readme"
readme_block cmake > "$work/readme/CMakeLists.txt"
readme_block cpp > "$work/readme/main.cpp"
test -s "$work/readme/CMakeLists.txt" && test -s "$work/readme/main.cpp"
cmake -S "$work/readme" -B "$work/readme/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/readme/build" > /dev/null
# It listens on the README's fixed port: run it only when that port is free.
if (exec 3<> /dev/tcp/127.0.0.1/9000) 2> /dev/null; then
  echo "port 9000 is taken: the README's server was built, not run"
else
  "$work/readme/build/my_app" > "$work/readme/log" 2>&1 &
  app=$!
  answer=""
  for _ in $(seq 50); do
    if { exec 3<> /dev/tcp/127.0.0.1/9000; } 2> /dev/null; then
      printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
      answer=$(cat <&3)
      exec 3>&-
      break
    fi
    sleep 0.1
  done
  kill -TERM "$app"
  wait "$app"
  grep -q "hello from duplex" <<< "$answer" || { echo "README server answered: $answer"; exit 1; }
fi

echo "--- pkg-config"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
g++ -O1 -o "$work/roundtrip-pc" "$src/examples/roundtrip.cpp" $(pkg-config --cflags --libs duplex)
"$work/roundtrip-pc"

echo "--- add_subdirectory: the library alone, usable from a shared library"
cmake -S "$src/tests/package/subproject" -B "$work/sub" -DDUPLEX_SOURCE="$src" \
      -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/sub" -j2 > /dev/null
"$work/sub/roundtrip"
echo "package: all passed"
