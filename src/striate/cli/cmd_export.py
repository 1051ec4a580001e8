"""striate export RUN --format onnx|torchscript [--static-batch] [--out FILE] [--tolerance T]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export a trained run to ONNX or TorchScript, checked against PyTorch")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--format", required=True, choices=["onnx", "torchscript"], help="the file format")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--static-batch", dest="dynamic_batch", action="store_false",
                       help="fix the batch axis at 1 (default: any batch size)")
    batch.add_argument("--dynamic-batch", dest="dynamic_batch", action="store_true",
                       help="any batch size: the default now, accepted for old scripts")
    parser.set_defaults(dynamic_batch=True)
    parser.add_argument("--out", metavar="FILE", help="where to write the model (default RUN/export/<model>.onnx or .pt)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest allowed max abs difference from PyTorch on the logits (default 1e-4)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--json", action="store_true", help="print the sidecar record as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.cli.common import print_json
    from striate.export.run_export import export_run

    result = export_run(args.run_dir, args.format, args.out, args.dynamic_batch, args.tolerance, args.weights)
    if args.json:
        print_json(result)
        return 0
    parity = result["parity"]
    print(f"wrote {result['path']} ({result['format']}, input {result['input']['shape']}) and {result['sidecar']}")
    print(f"parity: max abs diff {parity['max_abs_diff']:.3g} on logits ({parity['runtime']} vs PyTorch, "
          f"batch sizes {parity['batch_sizes']}; tolerance {parity['tolerance']:g})")
    if result["metadata_props"]:
        print(f"metadata_props: {', '.join(result['metadata_props'])}")
    return 0
