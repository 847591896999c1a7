// Exercise solutions stay folded on the site, as in Jupyter (cells tagged "solution", collapsed
// there by jupyter.source_hidden): each such cell goes into a closed <details>. Without
// JavaScript the solution is simply shown.
document.addEventListener("DOMContentLoaded", () => {
  for (const cell of document.querySelectorAll(".jp-Cell.celltag_solution")) {
    // nbconvert nests a cell's div in a wrapper of the same classes: fold the outer one only
    if (cell.parentElement.closest(".jp-Cell.celltag_solution")) continue;
    const details = document.createElement("details");
    details.className = "smgrnn-solution";
    const summary = document.createElement("summary");
    summary.textContent = "Solution (click to show)";
    details.appendChild(summary);
    cell.parentNode.insertBefore(details, cell);
    details.appendChild(cell);
  }
});
