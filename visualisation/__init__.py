"""Plotting for the pcc notebooks: matplotlib figures, animations (``to_jshtml``), plotly 3D views.

``pcc`` computes and never plots; this package draws what ``pcc`` returns.
"""
