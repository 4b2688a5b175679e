"""Text as a Chinese input method types it, folded to what it shows.

A Chinese billing export may write digits and their punctuation in fullwidth forms (１２３．５,
２０２６－０９): the lenient readers of imported values (crm.common.months with strict=False,
customers.consumption.parse_decimal) read them as ASCII through `fold_width`, and nowhere else does a
number or date get folded (the strict API fields refuse them). Only the fullwidth block is folded:
full NFKC would also turn a superscript ² into 2 ("1²" would read 12) and ① into 1."""

import unicodedata

# U+FF01..U+FF5E are the fullwidth forms of ASCII ! .. ~; NFKC maps each to its ASCII character.
_FULLWIDTH = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = " "  # the ideographic space


def fold_width(text: str) -> str:
    """`text` with fullwidth ASCII forms (digits, ．，－＋ and letters) as ASCII."""
    return text.translate(_FULLWIDTH)
