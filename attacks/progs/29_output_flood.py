# Attack: flood the host with output: print lines forever on stdout.
# Expected: pycage keeps exactly 1 MiB of stdout and stops the run: reason
# output-limit, stdout_truncated, exit 137.
from attacklib import *

line = "pycage-attack-flood " + "x" * 100 + "\n"
while True:
    sys.stdout.write(line)
