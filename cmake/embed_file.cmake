# Script mode helper of duplex_embed: writes INPUT's bytes as a constexpr array named SYMBOL.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#pragma once\n#include <string_view>\n"
     "inline constexpr char ${SYMBOL}_bytes[] = {${bytes} 0};\n"
     "inline constexpr std::string_view ${SYMBOL}{${SYMBOL}_bytes, ${size}};\n")
