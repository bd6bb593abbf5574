package runtimes

import (
	_ "embed"
	"path"
	"strings"

	"github.com/pycage/pycage/internal/jail"
)

//go:embed pycage_figures.py
var figuresModule []byte

// FiguresModuleDir is where the figures backend module lives inside the
// jail: a read-only file in the jail's own root (it exists in no host dir).
const FiguresModuleDir = "/pycage/python"

// FiguresDir is the workspace directory (relative to the cwd) the figures
// backend writes into; the service returns its files as `figures`.
const FiguresDir = "pycage-figures"

// FiguresModule returns the source of the figures backend (pycage_figures).
func FiguresModule() []byte { return figuresModule }

// EnableFigures makes plt.show() save every open figure as PNG into
// <cwd>/pycage-figures: the backend module is placed read-only into the jail
// (a Mount of kind "file"), its dir appended to PYTHONPATH (so a runtime's
// own modules still win) and MPLBACKEND points at it.
func EnableFigures(spec *jail.Spec) {
	spec.Mounts = append(spec.Mounts, jail.Mount{Kind: jail.MountFile, Dst: FiguresModuleDir + "/pycage_figures.py", Content: figuresModule, Mode: 0o444})
	AppendPath(spec, "PYTHONPATH", FiguresModuleDir)
	spec.Env = SetEnv(spec.Env, "MPLBACKEND=module://pycage_figures")
	spec.Env = SetEnv(spec.Env, "PYCAGE_FIGURES_DIR="+path.Join(spec.Cwd, FiguresDir))
}

// SplitFigures separates the figures (files under pycage-figures/) from
// the other collected files.
func SplitFigures(files []jail.OutFile) (others, figures []jail.OutFile) {
	for _, f := range files {
		if rest, ok := strings.CutPrefix(f.Path, FiguresDir+"/"); ok && rest != "" {
			f.Path = rest
			figures = append(figures, f)
		} else {
			others = append(others, f)
		}
	}
	return others, figures
}
