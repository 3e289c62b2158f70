"""Plotting for the pcc notebooks: matplotlib figures, animations (``to_jshtml`` + GIF), plotly 3D views.

``pcc`` computes and never plots; this package draws what ``pcc`` returns. Every function takes
arrays, tensors or ``pcc`` dataclasses and *returns* a matplotlib ``Figure``, a ``FuncAnimation``
or a plotly ``Figure``; none calls ``plt.show()``, and all work headless (Agg).
``visualisation.notebook`` holds the few lines every lesson shares (setup, metrics, animations);
``visualisation.style`` the one figure style.
"""
