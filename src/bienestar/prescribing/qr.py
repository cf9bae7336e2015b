"""The QR printed on a prescription: the verification code, as an inline SVG string.

Pure Python (qrcode's SVG path image): no Pillow, no files. Pages embed the string as is.
"""

from __future__ import annotations

import qrcode
import qrcode.constants
import qrcode.image.svg

from bienestar.prescribing import codes


def verification_qr_svg(code: str, *, box_size: int = 10, border: int = 4) -> str:
    """An `<svg>` element encoding the normalised verification code (what the pharmacy's scanner
    types into the code field). Error correction M survives a crease or a smudge on paper."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=border,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(codes.normalize(code))
    qr.make(fit=True)
    image = qr.make_image()
    svg = image.to_string(encoding="unicode")
    return svg if isinstance(svg, str) else svg.decode()
