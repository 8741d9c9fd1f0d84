#!/usr/bin/env python3
"""Regenerates the reference test vectors of the three crates.

    python3 scripts/vectors/generate.py            # write everything
    python3 scripts/vectors/generate.py --check    # fail if a file would change

Standard library only. Expected values are computed by the reference
decoders in this directory, written from the protocol descriptions, never by
the Rust crates; captured traffic is read from `<crate>/vectors/captures/`
(refresh it first with `scripts/capture/run.sh`). Also writes each crate's
`vectors/schema.json` and `vectors/README.md`, and seeds the fuzz corpora
with `vec-*` files.
"""

import argparse
import filecmp
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AREAS = []


def areas():
    import uwsgi_vectors
    out = [("uwsgi-proto", "uwsgi", uwsgi_vectors)]
    try:
        import fastcgi_vectors
        out.append(("fastcgi-proto", "fastcgi", fastcgi_vectors))
    except ImportError:
        pass
    try:
        import environ_vectors
        out.append(("wsgi-environ", "environ", environ_vectors))
    except ImportError:
        pass
    return out


def write_all(root):
    counts = {}
    for crate in ("uwsgi-proto", "fastcgi-proto", "wsgi-environ"):
        d = os.path.join(root, crate, "vectors")
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(os.path.join(HERE, "schema.json"), os.path.join(d, "schema.json"))
    for crate, proto, mod in areas():
        d = os.path.join(root, crate, "vectors")
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.endswith(".json") and f != "schema.json":
                os.remove(os.path.join(d, f))
        groups = mod.build()
        n = 0
        for g in groups:
            n += g.write(os.path.join(root, crate))
        counts[proto] = (n, {g.name: len(g.vectors) for g in groups})
        with open(os.path.join(HERE, "README.%s.md" % proto)) as f:
            area = f.read()
        with open(os.path.join(HERE, "FORMAT.md")) as f:
            fmt = f.read()
        with open(os.path.join(d, "README.md"), "w") as f:
            f.write(area.rstrip() + "\n\n" + fmt)
        with open(os.path.join(d, "counts.json"), "w") as f:
            json.dump({"protocol": proto, "total": n, "groups": counts[proto][1]}, f, indent=1)
            f.write("\n")
        if hasattr(mod, "seeds"):
            for target, seeds in mod.seeds(groups).items():
                cd = os.path.join(root, "fuzz", "corpus", target)
                os.makedirs(cd, exist_ok=True)
                for f in os.listdir(cd):
                    if f.startswith("vec-"):
                        os.remove(os.path.join(cd, f))
                assert len(seeds) <= 150, (target, len(seeds))
                for name, data in seeds:
                    with open(os.path.join(cd, "vec-" + name), "wb") as f:
                        f.write(data)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify the committed files are up to date")
    args = ap.parse_args()
    if args.check:
        tmp = tempfile.mkdtemp()
        try:
            for crate, _, _ in areas():
                shutil.copytree(os.path.join(common.ROOT, crate, "vectors", "captures"),
                                os.path.join(tmp, crate, "vectors", "captures"))
            write_all(tmp)
            bad = []
            for crate, _, _ in areas():
                a = os.path.join(tmp, crate, "vectors")
                b = os.path.join(common.ROOT, crate, "vectors")
                for f in sorted(set(os.listdir(a)) | set(os.listdir(b))):
                    if f == "captures":
                        continue
                    fa, fb = os.path.join(a, f), os.path.join(b, f)
                    if not (os.path.isfile(fa) and os.path.isfile(fb) and filecmp.cmp(fa, fb, shallow=False)):
                        bad.append(fb)
            tc = os.path.join(tmp, "fuzz", "corpus")
            for target in sorted(os.listdir(tc)):
                mine = {f for f in os.listdir(os.path.join(tc, target)) if f.startswith("vec-")}
                rd = os.path.join(common.ROOT, "fuzz", "corpus", target)
                theirs = {f for f in os.listdir(rd) if f.startswith("vec-")} if os.path.isdir(rd) else set()
                for f in sorted(mine ^ theirs):
                    bad.append(os.path.join(rd, f))
                for f in sorted(mine & theirs):
                    if not filecmp.cmp(os.path.join(tc, target, f), os.path.join(rd, f), shallow=False):
                        bad.append(os.path.join(rd, f))
            if bad:
                print("out of date:", *bad, sep="\n  ")
                sys.exit(1)
            print("vectors are up to date")
        finally:
            shutil.rmtree(tmp)
        return
    counts = write_all(common.ROOT)
    for proto, (n, groups) in counts.items():
        print("%s: %d vectors %s" % (proto, n, groups))


if __name__ == "__main__":
    main()
