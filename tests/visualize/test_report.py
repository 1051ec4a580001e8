"""The HTML run report: self-contained, every section present, every picture decodes;
`striate report` and `striate train --report` write it."""

import base64
import re
from html.parser import HTMLParser

import pytest
from visualize_helpers import decode_png, tiny_cnn_config, tiny_cnn_in_registry

from striate.cli.main import main
from striate.visualize.report import write_report

SECTION_IDS = ["overview", "config", "summary", "curves", "final", "confusion", "top-losses", "filters",
               "one-image", "top-patches", "pixels", "monitors", "advice"]


class PageParser(HTMLParser):
    """Collects section ids, table-of-contents links, image sources and anything that could load a resource."""

    def __init__(self):
        super().__init__()
        self.sections, self.links, self.images, self.external = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "a":
            self.links.append(attrs.get("href"))
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("script", "link", "iframe", "object", "embed", "video", "audio", "source"):
            self.external.append(tag)


@pytest.fixture(scope="module")
def report(tiny_cnn_run):
    with tiny_cnn_in_registry():
        path = write_report(tiny_cnn_run)
    parser = PageParser()
    parser.feed(path.read_text())
    return path, parser


@pytest.mark.slow
def test_every_section_is_present_and_linked_from_the_contents(report):
    path, page = report
    assert path.name == "report.html" and path.parent.name == "tiny-cnn"
    assert page.sections == SECTION_IDS
    assert page.links == [f"#{anchor}" for anchor in SECTION_IDS]


@pytest.mark.slow
def test_the_page_is_self_contained_and_every_picture_decodes(report):
    path, page = report
    text = path.read_text()
    assert page.external == []
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:|//)", text)
    assert "url(" not in text and "@import" not in text
    assert len(page.images) == 11  # curves, confusion, top losses, 2 filters, feature maps, saliency, top patches,
    # deconvnet, guided backprop, occlusion
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        width, height = decode_png(base64.b64decode(source.split(",", 1)[1]))
        assert width > 50 and height > 50


@pytest.mark.slow
def test_the_report_holds_the_run_figures_and_receptive_fields(report):
    text = report[0].read_text()
    assert "test_tiny_cnn" in text and "features.conv2" in text
    assert "<th>RF size</th>" in text
    conv2_row = re.search(r"<tr><td>features.conv2</td>(.*?)</tr>", text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", conv2_row)
    assert cells[0] == "Conv2d" and cells[1] == "8x4x4" and cells[-3:] == ["8", "2", "0.5"]  # size, jump, start
    assert "cropped to its 3x3 receptive field" in text  # top patches of conv1 (conv2's field is the whole image)
    assert "Layer monitors not recorded" in text  # this run had no monitors: a note, not a crash
    assert "channels of features.conv1, the 9 strongest activations" in text  # deconvnet on the top patches' layer
    assert "Guided backpropagation (Springenberg" in text and "Occlusion: the probability of the true class" in text


def test_cli_report_missing_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("striate report: error: run directory not found") and "\n" not in error


@pytest.mark.slow
def test_train_with_report_flag_writes_the_report(tmp_path, tiny_cnn_registered, capsys):
    code = main(["train", "--model", tiny_cnn_registered, "--model.args", "{}", "--data.source", "digits", "--input_size", "8", "--augment", "[]",
                 "--epochs", "1", "--out_dir", str(tmp_path), "--name", "reported", "--progress", "lines", "--report"])
    assert code == 0
    assert (tmp_path / "reported" / "report.html").is_file()
    captured = capsys.readouterr()
    assert "report written to" in captured.out
    assert "report: evaluating the test split" in captured.err and "report: 1/" in captured.err  # a progress line per section


@pytest.mark.slow
def test_report_of_a_model_without_convolutions_says_so(tiny_run, tmp_path):
    path = write_report(tiny_run, tmp_path / "mlp.html")
    parser = PageParser()
    parser.feed(path.read_text())
    text = path.read_text()
    assert parser.sections == SECTION_IDS
    assert "no convolution layer, so there are no filters to show" in text
    assert "No convolution layer whose receptive field is smaller than the image" in text


@pytest.mark.slow
def test_report_of_a_monitored_run_draws_monitors_and_gives_a_verdict(tmp_path, tiny_cnn_registered):
    from striate.session import train_run

    config = tiny_cnn_config(tmp_path, name="monitored")
    config.run.monitor, config.run.monitor_every = True, 5
    run_dir = train_run(config)["run_dir"]
    text = write_report(run_dir).read_text()
    parser = PageParser()
    parser.feed(text)
    assert parser.sections == SECTION_IDS
    assert "Layer monitors not recorded" not in text and 'alt="layer monitors"' in text
    assert '<p class="verdict">Verdict: ' in text and "figure behind the verdict" in text
    assert len(parser.images) == 12  # the 11 of an unmonitored run and the monitors
