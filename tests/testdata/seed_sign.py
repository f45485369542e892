#!/usr/bin/env python3
"""QFPay's seed Python sample signature, applied to a recorded request.

Reads the form body on stdin, prints upper-case MD5 of the sorted raw
k=v pairs joined by '&' followed by the key given as argv[1].
"""
import hashlib
import sys
from urllib.parse import parse_qsl


def make_req_sign(data, key):
    keys = sorted(data.keys())
    unsign_str = "&".join("%s=%s" % (k, data[k]) for k in keys) + key
    return hashlib.md5(unsign_str.encode("utf-8")).hexdigest().upper()


if __name__ == "__main__":
    body = sys.stdin.read()
    data = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
    print(make_req_sign(data, sys.argv[1]))
