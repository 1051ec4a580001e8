"""LIBLINEAR's formulations by their solver names (``train -s N``): which scikit-learn estimator runs each,
and the default. Plain data without numpy, so that the command line can offer the names without importing
the numerical stack (striate.transfer.linear fits and applies them)."""

FORMULATIONS = {
    "l2r_lr": {"estimator": "logistic", "dual": False},
    "l2r_l2loss_svc_dual": {"estimator": "svc", "loss": "squared_hinge", "dual": True},
    "l2r_l2loss_svc": {"estimator": "svc", "loss": "squared_hinge", "dual": False},
    "l2r_l1loss_svc_dual": {"estimator": "svc", "loss": "hinge", "dual": True},
}
DEFAULT_FORMULATION = "l2r_l2loss_svc"
