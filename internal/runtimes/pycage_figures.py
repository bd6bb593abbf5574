"""pycage's matplotlib backend: plt.show() saves every open figure as PNG.

pycage places this module read-only into the jail and selects it with
MPLBACKEND=module://pycage_figures when a request asks for figures. Drawing
is matplotlib's Agg; show() writes each open figure, in figure-number order,
to $PYCAGE_FIGURES_DIR/figure-NNN.png (NNN counts every figure shown in the
run) and then closes them, as a notebook does. The service returns that
directory's files as the answer's `figures`. Python 2.7 syntax too.
"""
import os

from matplotlib.backend_bases import FigureManagerBase, _Backend
from matplotlib.backends.backend_agg import FigureCanvasAgg

try:
    from matplotlib._pylab_helpers import Gcf
except ImportError:  # very old matplotlib
    from matplotlib.pylab_helpers import Gcf  # noqa

_shown = [0]


def _figures_dir():
    d = os.environ.get("PYCAGE_FIGURES_DIR") or "pycage-figures"
    try:
        os.makedirs(d)
    except OSError:
        if not os.path.isdir(d):
            raise
    return d


def save_all():
    """Save every open figure as PNG and close them; returns the paths."""
    managers = sorted(Gcf.get_all_fig_managers(), key=lambda m: m.num)
    paths = []
    if not managers:
        return paths
    d = _figures_dir()
    for m in managers:
        _shown[0] += 1
        p = os.path.join(d, "figure-%03d.png" % _shown[0])
        m.canvas.figure.savefig(p, format="png")
        paths.append(p)
    Gcf.destroy_all()
    return paths


@_Backend.export
class _BackendPycageFigures(_Backend):
    FigureCanvas = FigureCanvasAgg
    FigureManager = FigureManagerBase

    @staticmethod
    def trigger_manager_draw(manager):
        pass

    @staticmethod
    def mainloop():
        pass

    @classmethod
    def show(cls, *args, **kwargs):
        save_all()
