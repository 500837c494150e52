#!/usr/bin/python3
# Writes the seed corpus of fuzz/server_http.cpp: scripted conversations in its input format
# (an op byte: 0-3 with the length in the top bits feeds bytes, 4 answers or resumes, 5 runs
# the deadline sweep, 6 is the client's FIN, 7 one more iteration).
import hashlib
import os
import sys

ANSWER, RESUME, EXPIRE, FIN, STEP = 0x84, 0x04, 0x05, 0x06, 0x07


def feed(text):
    data = text.encode()
    out = bytearray()
    for i in range(0, len(data), 32):
        piece = data[i:i + 32]
        out.append((len(piece) - 1) << 3)
        out += piece
    return bytes(out)


H = "Host: a\r\n"
seeds = [
    feed(f"POST /b HTTP/1.1\r\n{H}Content-Length: 5\r\n\r\nhelloGET /h HTTP/1.1\r\n{H}\r\n"),
    feed(f"POST /s HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    + bytes([RESUME]) + feed("2\r\nde\r\n0\r\n\r\n") + bytes([RESUME, STEP]),
    feed(f"PUT /d HTTP/1.1\r\n{H}Content-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n{H}\r\n")
    + bytes([ANSWER]),
    feed(f"POST /s HTTP/1.1\r\n{H}Expect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    + feed("wxyz"),
    feed(f"POST /s?deny HTTP/1.1\r\n{H}Content-Length: 4\r\n\r\nwxyzGET /h HTTP/1.1\r\n{H}\r\n"),
    feed(f"POST /p/x/y HTTP/1.1\r\n{H}Content-Length: 100\r\n\r\n") + feed("z" * 100),
    feed(f"POST /t HTTP/1.1\r\n{H}Content-Length: 1\r\n\r\nx"),
    feed(f"POST /b HTTP/1.1\r\n{H}Content-Length: 9\r\n\r\nabc") + bytes([EXPIRE]),
    feed(f"POST /b HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n5\r\nab") + bytes([FIN]),
    feed(f"POST /d HTTP/1.1\r\n{H}Content-Length: 1\r\n\r\nx") + bytes([FIN, ANSWER]),
    feed(f"POST /b HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n"
         "FFFFFFFFFFFFFFFFFFFF\r\n"),
]

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             "corpus", "server_http")
os.makedirs(out_dir, exist_ok=True)
for s in seeds:
    with open(os.path.join(out_dir, hashlib.sha1(s).hexdigest()), "wb") as f:
        f.write(s)
