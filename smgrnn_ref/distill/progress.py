"""The progress bar of a training run: steps done, the last evaluation return, the network's size.

A thin layer over ``tqdm`` so the training loop says only *when* to refresh. A disabled bar
(``progress=False``, grid workers, tests) prints nothing.

Examples
--------
>>> from smgrnn_ref.graph import empty_graph
>>> with RunProgress(total=10, initial=0, desc="demo", enabled=False) as bar:
...     bar.show(0, None, empty_graph(2, 1))  # no evaluation yet: the return shows as "-"
...     bar.update()
>>> bar.bar.disable  # disabled: nothing was printed
True
"""

from __future__ import annotations

from ..graph import hidden_nodes


class RunProgress:
    """A ``tqdm`` bar over the training steps of one run (a context manager that closes it).

    Parameters
    ----------
    total : int
        The run's last step.
    initial : int
        The step it starts from (a resumed run's checkpoint step).
    desc : str
        The bar's label (the run's name).
    enabled : bool
        Draw the bar at all.
    """

    def __init__(self, *, total: int, initial: int, desc: str, enabled: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, disable=not enabled, unit="step", desc=desc,
                        dynamic_ncols=True)

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def show(self, step: int, last_eval: dict | None, G) -> None:
        """Show the step, the last evaluation's mean return and the size of graph ``G`` after
        the bar (drawn with the next update)."""
        ret = f"{last_eval['mean']:.1f}" if last_eval else "-"
        # an ordered mapping: tqdm would sort keyword arguments alphabetically
        self.bar.set_postfix({"step": step, "eval_return": ret, "hidden": len(hidden_nodes(G)),
                              "edges": G.number_of_edges()}, refresh=False)

    def update(self) -> None:
        """One more step done."""
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


__all__ = ["RunProgress"]
