# pycage's runtime probe: run once per runtime at start-up, inside a jail.
# Prints one line "PYCAGE-PROBE <json>" with the interpreter's version,
# prefix and the distributions on its sys.path, then (argv[1] == "fonts",
# matplotlib present) builds matplotlib's font cache into $MPLCONFIGDIR and
# prints "PYCAGE-FONTS <json>". Python 2.7 and 3.6+ syntax only: no
# f-strings, no importlib.metadata.
import json
import os
import platform
import re
import sys


def meta(path):
    name = version = None
    f = open(path, "rb")
    try:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                break
            if name is None and line.startswith("Name:"):
                name = line[5:].strip()
            elif version is None and line.startswith("Version:"):
                version = line[8:].strip()
    finally:
        f.close()
    return name, version


def packages():
    found = {}
    for d in sys.path:
        if not d or not os.path.isdir(d):
            continue  # '' is the workspace; zip files hold no metadata here
        try:
            names = sorted(os.listdir(d))
        except Exception:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                p = os.path.join(d, n, "METADATA")
            elif n.endswith(".egg-info"):
                p = os.path.join(d, n)
                if os.path.isdir(p):
                    p = os.path.join(p, "PKG-INFO")
            else:
                continue
            try:
                name, version = meta(p)
            except Exception:
                continue
            if not name or not version:
                continue
            key = re.sub(r"[-_.]+", "-", name).lower()
            if key not in found:  # the first on sys.path is what imports
                found[key] = version
    return found


def version():
    v = sys.version_info
    s = "%d.%d.%d" % (v[0], v[1], v[2])
    level = {"alpha": "a", "beta": "b", "candidate": "rc"}.get(v[3])
    if level:
        s += "%s%d" % (level, v[4])
    return s


info = {
    "version": version(),
    "implementation": platform.python_implementation(),
    "prefix": sys.prefix,
    "executable": sys.executable,
    "path": [p for p in sys.path if p],
    "packages": packages(),
}
sys.stdout.write("PYCAGE-PROBE " + json.dumps(info, sort_keys=True) + "\n")
sys.stdout.flush()

if len(sys.argv) > 1 and sys.argv[1] == "fonts" and "matplotlib" in info["packages"]:
    out = {}
    try:
        import matplotlib
        from matplotlib import font_manager  # builds the cache  # noqa: F401
        out["dir"] = matplotlib.get_cachedir()
        out["files"] = sorted(n for n in os.listdir(out["dir"]) if n.startswith("fontlist-"))
    except Exception as e:  # a broken matplotlib must not hide the packages
        out["error"] = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write("PYCAGE-FONTS " + json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()
