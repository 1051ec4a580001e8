"""striate serve RUN [--host 127.0.0.1] [--port 8000]"""

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="a local web app: draw or upload an image, see the network at work")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: only this machine can connect)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--max-upload-mb", type=float, default=4.0,
                        help="largest accepted upload (the whole request body) in MiB (default 4)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.errors import ConfigError

    try:
        import uvicorn

        from striate.serve.app import create_app
        from striate.serve.server import server_options
    except ImportError as error:
        raise ConfigError(f"'striate serve' needs the web stack ({error}); install it with: pip install 'striate[serve]'") from None
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    app = create_app(args.run_dir, args.weights, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024))
    if args.host not in LOOPBACK:
        print(f"note: listening on {args.host}, so other machines can reach this app; use --host 127.0.0.1 to keep it local")
    print(f"serving {args.run_dir} at http://{args.host if ':' not in args.host else f'[{args.host}]'}:{args.port}/ "
          "(Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, **server_options())
    return 0
