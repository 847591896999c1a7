"""What drives growth: the tools of the growth study (docs/growth.md; our study, not the paper's).

SMGrNN (Jia & Zhou, arXiv 2512.12713) claims that edge-driven growth gives a network the capacity
its task needs: an edge whose updates oscillate with a high variance signals "representational
insufficiency" and receives a relay node. This package holds what tests that claim:

* :mod:`~smgrnn_ref.growth.teachers`: random tanh teachers, a ladder of tasks by width;
* :mod:`~smgrnn_ref.growth.offline`: distillation of a teacher without an environment (the
  project's engines and SPM), with every relay birth recorded and matched controls;
* :mod:`~smgrnn_ref.growth.births`: the statistics of one birth (window, loss before and after).

The rank statistic "size tracks difficulty" is :func:`smgrnn_ref.report.spearman_interval`.
"""

from .births import birth_record, loss_change, loss_slope, matched_quiet_steps
from .offline import OfflineConfig, run_offline
from .teachers import Teacher, TeacherSpec, make_teacher

__all__ = ["Teacher", "TeacherSpec", "make_teacher", "OfflineConfig", "run_offline", "birth_record",
           "loss_slope", "loss_change", "matched_quiet_steps"]
