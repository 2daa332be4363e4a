"""Package marker: see the modules inside (series/<variant>/ mirrors the kernel tree)."""
