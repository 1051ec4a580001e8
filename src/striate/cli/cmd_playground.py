"""striate playground [--host 127.0.0.1] [--port 8000]"""

from striate.cli.cmd_serve import LOOPBACK


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "playground", help="a local page where a small MLP learns 2-D points while you watch (no run needed)",
        description="Open the page it prints: pick a toy problem (circles, XOR, spirals, blobs), the inputs, the "
                    "layers, the activation, the learning rate and the regularisation, press Play, and watch the "
                    "decision boundary and every hidden unit change as the network trains on this machine. "
                    "'striate serve RUN' has the same page at /playground.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: only this machine can connect)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.errors import ConfigError

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    try:
        import uvicorn

        from striate.serve.app import create_playground_app
        from striate.serve.server import server_options
    except ImportError as error:
        raise ConfigError(f"'striate playground' needs the web stack ({error}); install it with: "
                          "pip install 'striate[serve]'") from None
    app = create_playground_app()
    if args.host not in LOOPBACK:
        print(f"note: listening on {args.host}, so other machines can reach this page; "
              "use --host 127.0.0.1 to keep it local")
    host = args.host if ":" not in args.host else f"[{args.host}]"
    print(f"the playground is at http://{host}:{args.port}/playground (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, **server_options())
    return 0
