"""One self-contained HTML page that steps through pictures: no network, no server."""

from __future__ import annotations

import html

__all__ = ["page"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
#controls { display: flex; gap: .6em; align-items: center; margin-bottom: .5em; }
#controls input[type=range] { flex: 1; max-width: 40em; }
#caption { font-family: ui-monospace, monospace; min-height: 2.6em; }
.frame svg { max-width: 100%; height: auto; }
"""

# Plain ES5, inline: shows one frame at a time.
_SCRIPT = """
(function () {
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var caption = document.getElementById('caption');
  var counter = document.getElementById('counter');
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) { frames[i].hidden = (i !== current); }
    slider.value = String(current);
    caption.textContent = frames[current].getAttribute('data-caption');
    counter.textContent = (current + 1) + ' / ' + frames.length;
  }
  document.getElementById('prev').addEventListener('click', function () { show(current - 1); });
  document.getElementById('next').addEventListener('click', function () { show(current + 1); });
  slider.addEventListener('input', function () { show(parseInt(slider.value, 10)); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowLeft') { show(current - 1); }
    if (e.key === 'ArrowRight') { show(current + 1); }
  });
  show(START);
})();
"""


def page(frames: list[tuple[str, str]], *, title: str, start: int = 0) -> str:
    """The HTML text for ``frames``, a list of ``(caption, inline svg)``."""
    if not frames:
        raise ValueError("a page needs at least one frame")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<div id="controls">',
        '<button id="prev" type="button">&#9664; prev</button>',
        f'<input id="slider" type="range" min="0" max="{len(frames) - 1}" value="{start}" '
        'aria-label="step">',
        '<button id="next" type="button">next &#9654;</button>',
        '<span id="counter"></span></div>',
        '<p id="caption"></p>',
    ]
    for k, (caption, svg) in enumerate(frames):
        hidden = "" if k == start else " hidden"
        parts.append(f'<div class="frame" id="frame-{k}" data-caption="{html.escape(caption)}"{hidden}>'
                     f"{svg}</div>")
    parts.append(f"<script>{_SCRIPT.replace('START', str(int(start)))}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)
