"""The visual language shared by every picture of the project: colours, node sizes, axis extent.

Colours are Okabe-Ito's, distinguishable with the common forms of colour blindness; the same
colour means the same thing in a topology frame (:mod:`smgrnn_ref.viz.drawing`) and in a
training curve (:mod:`smgrnn_ref.viz.plots`).
"""

from __future__ import annotations

# Okabe-Ito colours: distinguishable with the common forms of colour blindness.
NODE_COLORS = {"input": "#F0E442", "hidden": "#CC79A7", "output": "#E69F00"}
POSITIVE_COLOR = "#0072B2"  # blue
NEGATIVE_COLOR = "#D55E00"  # vermillion
ADDED_COLOR = "#009E73"  # green
GHOST_COLOR = "#9a9a9a"  # grey, for pruned nodes and edges
CANDIDATE_COLOR = "#56B4E9"  # sky blue, a pruning candidate (as in the viewer)
PARENT_COLOR = "#F0E442"  # yellow, a relay's parent edge (as in the viewer)

# The layout lives in the unit square (inputs at x=0, outputs at x=1); this fixed extent
# leaves room for the "id (in i)" / "id (out j)" labels and never depends on the frame's
# content, so nodes keep their place on screen from frame to frame.
XLIM = (-0.16, 1.16)
YLIM = (-0.06, 1.06)

#: Marker area (points^2) of each node kind in a legend (drawn nodes are sized by the room
#: round their place: :func:`smgrnn_ref.viz.layered_layout.node_radius`).
NODE_SIZE = {"input": 240.0, "output": 240.0, "hidden": 170.0}

__all__ = ["NODE_COLORS", "POSITIVE_COLOR", "NEGATIVE_COLOR", "ADDED_COLOR", "GHOST_COLOR", "CANDIDATE_COLOR",
           "PARENT_COLOR", "XLIM", "YLIM", "NODE_SIZE"]
