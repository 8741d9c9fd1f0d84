"""Shared helpers for the vector generator (Python standard library only)."""

import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORMAT = "gateway-vectors/1"


def bstr(b):
    """A byte string as JSON: a string when valid, printable UTF-8, else {"hex": ...}."""
    if isinstance(b, str):
        b = b.encode()
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": b.hex()}
    if s.isprintable():
        return s
    return {"hex": b.hex()}


def unbstr(v):
    if isinstance(v, str):
        return v.encode()
    return bytes.fromhex(v["hex"])


def pairs(ps):
    return [[bstr(k), bstr(v)] for k, v in ps]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def spec(source):
    return {"kind": "spec", "source": source}


def edge(source):
    return {"kind": "edge-case", "source": source}


def peer(source, name, version, config):
    return {"kind": "peer", "source": source, "peer": {"name": name, "version": version, "config": config}}


def err(cls, offset):
    return {"result": "error", "class": cls, "offset": offset}


def u16le(n):
    return struct.pack("<H", n)


def u16be(n):
    return struct.pack(">H", n)


class Group:
    """One output file: `<crate>/vectors/<name>.json`."""

    def __init__(self, protocol, name, description):
        self.protocol = protocol
        self.name = name
        self.description = description
        self.vectors = []

    def add(self, v):
        assert v["id"].startswith(self.protocol + "."), v["id"]
        v.setdefault("protocol", self.protocol)
        order = ["id", "description", "provenance", "protocol", "direction", "layer", "mode",
                 "limits", "options", "canonical", "input_hex", "input_file", "input_len",
                 "input_sha256", "input", "expect"]
        out = {k: v[k] for k in order if k in v}
        extra = set(v) - set(order)
        assert not extra, (v["id"], extra)
        self.vectors.append(out)
        return out

    def write(self, crate_dir):
        ids = [v["id"] for v in self.vectors]
        assert len(ids) == len(set(ids)), "duplicate ids in " + self.name
        doc = {
            "format": FORMAT,
            "protocol": self.protocol,
            "group": self.name,
            "description": self.description,
            "vectors": self.vectors,
        }
        path = os.path.join(crate_dir, "vectors", self.name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return len(self.vectors)


def load_manifest(crate):
    with open(os.path.join(ROOT, crate, "vectors", "captures", "manifest.json")) as f:
        return json.load(f)["captures"]


def read_capture(crate, name):
    with open(os.path.join(ROOT, crate, "vectors", "captures", name), "rb") as f:
        return f.read()


def capture_input(crate, name, data):
    """Fields that point a vector at a committed capture file."""
    return {
        "input_file": "captures/" + name,
        "input_len": len(data),
        "input_sha256": sha(data),
    }


def split_peer(peer_str):
    """'nginx/1.22.1' -> ('nginx', '1.22.1'); 'uWSGI 2.0.21-debian (x)' -> ('uWSGI', '2.0.21-debian (x)')."""
    for sep in ("/", " "):
        if sep in peer_str:
            a, b = peer_str.split(sep, 1)
            return a, b
    return peer_str, "unknown"
