# Load axiomdbg into GDB:   gdb-multiarch -x gdb_scripts/axiomdbg.py [build/<arch>-<profile>/axiom.elf]
#
# GDB embeds its own Python (Debian's 3.11). The project's packages live in its
# virtualenv (.venv, or $AXIOMDBG_VENV); their site-packages go FIRST on sys.path
# so compiled packages (z3, lief) built for the venv's 3.11 are the ones imported.
import glob
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_root = os.path.dirname(_here)
_venv = os.environ.get("AXIOMDBG_VENV") or os.path.join(_root, ".venv")
for _sp in sorted(glob.glob(os.path.join(_venv, "lib", "python3*", "site-packages"))):
    if _sp not in sys.path:
        sys.path.insert(0, _sp)
if _root not in sys.path:
    sys.path.insert(0, _root)

try:
    import axiomdbg.gdb as _axgdb
    _axgdb.register()
    import gdb
    gdb.write("axiomdbg loaded: type `ax help`\n")
except Exception as _e:  # one clear line, never a traceback
    import gdb
    gdb.write(f"axiomdbg: could not load ({type(_e).__name__}: {_e}); run scripts/bootstrap.sh\n", gdb.STDERR)
