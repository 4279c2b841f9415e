"""Models as dynamical systems: vector fields and maps from specs, and their analysis.

(Work in progress; the recurrent cells are ready for ``biodyn.ann``.)
"""

from ._rnn_cells import CELLS, DrivenCell, GRUCell, LSTMCell, RNNCell

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "CELLS", "DrivenCell"]
