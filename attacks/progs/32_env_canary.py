# Attack: steal secrets from the host's environment: pycage is started with
# secret variables (the test puts a random value in PYCAGE_ATTACK_SECRET and
# AWS_SECRET_ACCESS_KEY); look in os.environ, /proc/self/environ, init's
# environ and every visible process's environ and cmdline.
# Expected: the jail's environment is the clean default (PATH, LANG, HOME,
# TMPDIR, *_NUM_THREADS, MPLBACKEND); init's environ is EACCES; the secret
# never appears in the output (the test checks).
from attacklib import *

allowed = {"PATH", "LANG", "HOME", "TMPDIR", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
           "MKL_NUM_THREADS", "MPLBACKEND", "LC_CTYPE"}
extra = sorted(set(os.environ) - allowed)
if extra:
    escaped("environment", extra)
else:
    blocked("environment", "clean: " + " ".join(sorted(os.environ)))
seen = []
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    for f in ("environ", "cmdline"):
        try:
            seen.append(open("/proc/%s/%s" % (p, f), "rb").read())
        except OSError as e:
            if p == "1" and f == "environ":
                judge("read /proc/1/environ", ename(e.errno), ("EACCES",))
# Print all of it: the test searches this output for the secret.
for s in seen:
    say("INFO", s.replace(b"\0", b" ").decode(errors="replace")[:2000])
done()
