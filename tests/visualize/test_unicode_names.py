"""Class names in any script are drawn (not as empty boxes) when the system has a font with their
glyphs: the pictures add such fonts as fallbacks after matplotlib's first sans-serif choice."""

import warnings

import pytest
from matplotlib import font_manager

from striate.tasks.pictures import FALLBACK_FONTS, blank_figure, figure_png
from striate.visualize.confusion import plot_confusion

HIRAGANA = ["お", "き", "す", "つ", "な", "は", "ま", "や", "れ", "を"]  # KMNIST's ten classes


def _cjk_font_installed() -> bool:
    return any(path.rsplit("/", 1)[-1].lower().replace("-", "").replace("_", "").startswith(FALLBACK_FONTS)
               for path in font_manager.findSystemFonts())


def _missing_glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(item.message) for item in caught if "missing from font" in str(item.message)]


@pytest.mark.skipif(not _cjk_font_installed(), reason="needs a font with CJK glyphs (apt-get install fonts-wqy-microhei)")
def test_hiragana_class_names_are_drawn_in_a_confusion_matrix():
    confusion = [[5 if row == column else 1 for column in range(10)] for row in range(10)]
    assert _missing_glyph_warnings(lambda: figure_png(plot_confusion(confusion, HIRAGANA))) == []


def test_without_a_fallback_the_check_sees_missing_glyphs():
    """The negative control: DejaVu Sans alone lacks hiragana, and the warning the test above looks for
    is what matplotlib says then."""
    def draw():
        figure = blank_figure()
        figure.text(0.5, 0.5, "".join(HIRAGANA), family="DejaVu Sans")
        figure_png(figure)

    assert _missing_glyph_warnings(draw)
