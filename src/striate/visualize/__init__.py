"""Seeing inside a network: curves, filters, feature maps, top activating patches, saliency,
deconvnet projections, guided backpropagation, occlusion sensitivity, confusion matrices and top losses, classic image filters, layer monitor plots, and the HTML run
report. Every ``plot_*`` function draws one picture (matplotlib's Agg renderer, imported only
when drawing): given a path it writes the PNG there and returns the path; without one it returns
the matplotlib Figure, which a Jupyter notebook shows inline.

>>> from striate.visualize import write_report, plot_filters   # doctest: +SKIP
"""

from striate.visualize.confusion import most_confused_pairs, plot_confusion, plot_top_losses, top_losses
from striate.visualize.curves import plot_training_curves, read_metrics
from striate.visualize.feature_maps import plot_feature_maps
from striate.visualize.filters import plot_filters
from striate.visualize.image_filters import convolve, gabor_bank, gabor_kernel, plot_image_filters
from striate.visualize.backprop_rules import backprop_rule
from striate.visualize.monitors import monitor_series, plot_monitors
from striate.visualize.occlusion import occlusion_map, plot_occlusion
from striate.visualize.projections import guided_backprop, plot_deconvnet, plot_guided_backprop, top_projections
from striate.visualize.report import write_report
from striate.visualize.saliency import grad_cam, gradient_saliency, plot_saliency
from striate.visualize.top_patches import plot_top_patches, top_activating_patches

__all__ = ["backprop_rule", "convolve", "gabor_bank", "gabor_kernel", "grad_cam", "gradient_saliency",
           "guided_backprop", "monitor_series", "most_confused_pairs", "occlusion_map", "plot_confusion",
           "plot_deconvnet", "plot_feature_maps", "plot_filters", "plot_guided_backprop", "plot_image_filters",
           "plot_monitors", "plot_occlusion", "plot_saliency", "plot_top_losses", "plot_top_patches",
           "plot_training_curves", "read_metrics", "top_activating_patches", "top_losses", "top_projections",
           "write_report"]
