"""Figures, the only package that imports matplotlib.

:mod:`~rl_softmax.plotting.sweeps`: probabilities against temperature, sweeps,
learning curves and parameter studies; :mod:`~rl_softmax.plotting.anneal`: the
uniform-to-greedy figures (entropy, action probabilities and temperature over time);
:mod:`~rl_softmax.plotting.tabular`: returns per episode and grid-world maps (``V*``
with a greedy policy, state visits); :mod:`~rl_softmax.plotting.policy`: softmax
policy networks (evaluation return, steps to solve and entropy against the entropy
temperature, softmax against greedy evaluation);
:mod:`~rl_softmax.plotting.joint`: studies of two parameters swept together (a
heat map); :mod:`~rl_softmax.plotting.tour`: the figures of the "Why softmax?" page
(maximum entropy, linear normalisation under a shift, cross-entropy gradients);
:mod:`~rl_softmax.plotting.tune`: a tune's trials, answer and history;
:mod:`~rl_softmax.plotting.style`: the conventions they share.
:func:`draw_experiment` draws every figure of a results directory. Figures are
built from :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no
global state, no GUI backend, nothing to close, and safe to call from any thread.
Every function returns the figure; :func:`save_figure` writes it atomically.

Conventions: README size (6.5 x 4 in at 150 dpi), the Okabe-Ito colour-blind-safe
palette for unordered lines and viridis for ordered parameter values, swept values on
a log axis (base 2 with ticks ``1/128 ... 4`` when they are powers of two), and
shaded 95% confidence bands ``mean ± t sem`` over seeds, ``t`` from Student's t
with one degree of freedom fewer than the seeds (see
:func:`rl_softmax.experiment.stats.half_width`).
"""

from rl_softmax.plotting.anneal import (
    anneal_figures,
    has_temperature_curve,
    plot_action_probs,
    plot_entropy_curves,
    plot_prob_optimal_curves,
    plot_temperature_and_entropy,
)
from rl_softmax.plotting.joint import HeatmapCells, heatmap_cells, plot_joint_study
from rl_softmax.plotting.policy import (
    plot_evaluation,
    plot_policy_sweep,
    plot_study_curves,
)
from rl_softmax.plotting.style import DPI, FIGSIZE, PALETTE, PLOTS_DIR, save_figure
from rl_softmax.plotting.sweeps import (
    default_metrics,
    draw_experiment,
    plot_learning_curves,
    plot_parameter_study,
    plot_probs_vs_tau,
    plot_sweep,
)
from rl_softmax.plotting.tabular import (
    plot_episode_returns,
    plot_value_map,
    plot_visits,
    tabular_figures,
)
from rl_softmax.plotting.tour import (
    plot_cross_entropy_gradients,
    plot_linear_vs_softmax,
    plot_max_entropy,
    tour_figures,
)
from rl_softmax.plotting.tune import (
    draw_tune,
    plot_tune_history,
    plot_tune_map,
    plot_tune_params,
)

__all__ = [
    "DPI",
    "FIGSIZE",
    "HeatmapCells",
    "PALETTE",
    "PLOTS_DIR",
    "anneal_figures",
    "draw_experiment",
    "draw_tune",
    "has_temperature_curve",
    "heatmap_cells",
    "plot_action_probs",
    "plot_cross_entropy_gradients",
    "plot_entropy_curves",
    "plot_episode_returns",
    "plot_evaluation",
    "plot_joint_study",
    "default_metrics",
    "plot_learning_curves",
    "plot_linear_vs_softmax",
    "plot_max_entropy",
    "plot_parameter_study",
    "plot_policy_sweep",
    "plot_prob_optimal_curves",
    "plot_probs_vs_tau",
    "plot_study_curves",
    "plot_sweep",
    "plot_temperature_and_entropy",
    "plot_value_map",
    "plot_tune_history",
    "plot_tune_map",
    "plot_tune_params",
    "plot_visits",
    "save_figure",
    "tabular_figures",
    "tour_figures",
]
