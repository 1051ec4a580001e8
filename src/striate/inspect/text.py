"""The summary as a plain text table for people (the CLI prints it)."""

from io import StringIO

from striate.inspect.summary import Summary


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("-", "").replace(" ", "").replace("KiB", "") \
        .replace("MiB", "").replace("GiB", "").replace("B", "").isdigit()


def render_table(headers: list[str], rows: list[list[str]], stream) -> None:
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        parts = [cell.rjust(w) if index and _numeric(cell) else cell.ljust(w) for cell, w in zip(row, widths)]
        print("  ".join(parts).rstrip(), file=stream)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=stream)


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def summary_lines(table: Summary, title: str = "") -> list[str]:
    """Header, one line per layer, totals."""
    headers = ["layer", "kind", "output", "params", "MACs", "activations", "RF", "jump", "start"]
    rows = [[row.name, row.kind, "x".join(map(str, row.output_shape)), f"{row.params:,}", f"{row.macs:,}",
             human_bytes(row.activation_bytes), _number(row.rf_size), _number(row.rf_jump), _number(row.rf_start)]
            for row in table.rows]
    stream = StringIO()
    render_table(headers, rows, stream)
    shape = "x".join(map(str, table.input_shape))
    lines = [f"{title} on a {shape} input" if title else f"input {shape}", ""]
    lines += stream.getvalue().rstrip("\n").splitlines()
    lines += ["",
              f"parameters        {table.total_params:,} ({table.trainable_params:,} trainable, "
              f"{human_bytes(4 * table.total_params)} as float32)",
              f"multiply-adds     {table.total_macs:,} per image",
              f"activations       {human_bytes(table.total_activation_bytes)} per image (forward, all layers)",
              f"output            {'x'.join(map(str, table.output_shape))}",
              "RF = receptive field in input pixels; jump = pixels between neighbouring units; "
              "start = centre of unit 0 (pixel i is centred at i)"]
    return lines
