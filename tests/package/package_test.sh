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
"$work/examples/upload" --self-test
"$work/examples/reconnect" --self-test

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
