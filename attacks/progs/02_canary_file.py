# Attack: read and overwrite a canary file the test created on the host in a
# temp dir (argument 1: its path; argument 2: its secret content), directly,
# through /proc/1/root, /proc/self/root, /proc/self/cwd and ../ climbing.
# Expected: every path is ENOENT or EACCES; the host file is untouched and
# its secret never appears in the output.
from attacklib import *

canary, secret = ARGS[0], ARGS[1]
paths = [canary, "/proc/1/root" + canary, "/proc/self/root" + canary,
         "/proc/self/cwd/../../../.." + canary, "/sandbox/../../../.." + canary,
         "/proc/1/cwd" + canary, "/dev/../../.." + canary]
for p in paths:
    for mode in ("rb", "r+b", "ab"):
        try:
            with open(p, mode) as f:
                if "r" in mode and secret.encode() in f.read():
                    escaped("read canary " + p, "secret seen")
                else:
                    escaped("open canary " + p, mode)
                if mode != "rb":
                    f.write(b"pwned")
        except OSError as e:
            judge("open %s %s" % (mode, p), ename(e.errno), ("ENOENT", "EACCES"))
# Look for the canary's name anywhere in the visible tree.
name = os.path.basename(canary)
for root, dirs, files in os.walk("/", topdown=True):
    if root == "/" :
        dirs[:] = [d for d in dirs if d not in ("proc", "usr", "lib", "lib64", "lib32")]
    if name in files or name in dirs:
        escaped("canary visible", os.path.join(root, name))
blocked("search canary name", "not found")
done()
