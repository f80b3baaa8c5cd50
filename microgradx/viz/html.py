"""One self-contained HTML page that steps through a drawing: no network, no server.

The page holds the drawing once and, per frame, the ids it changes (see
:meth:`microgradx.viz.Stepper.state`, which the script below mirrors).  It fits
the drawing to the window, zooms (wheel, + / −, fit) and pans (drag), follows
the active node, steps with ← → Home End, has a large-text presenter mode (P),
and keeps the frame in the address (``page.html#12``).
"""

from __future__ import annotations

import html

__all__ = ["page"]

_STYLE = """
html, body { margin: 0; height: 100%; }
body { font-family: system-ui, 'DejaVu Sans', sans-serif; color: #222; display: flex;
       flex-direction: column; }
header { display: flex; flex-wrap: wrap; gap: .5em; align-items: center; padding: .4em .8em;
         border-bottom: 1px solid #ddd; }
header h1 { font-size: 1em; margin: 0 1em 0 0; font-weight: 600; }
header input[type=range] { flex: 1; min-width: 10em; }
button { font-size: 1em; padding: .15em .6em; }
#counter { font-variant-numeric: tabular-nums; min-width: 6em; }
#caption { font-size: max(20px, 1.5vw); line-height: 1.35; padding: .35em .8em; min-height: 2.8em;
           border-bottom: 1px solid #eee; }
#view { flex: 1; position: relative; overflow: hidden; cursor: grab; background: white; }
#view.dragging { cursor: grabbing; }
#canvas { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
#canvas svg { display: block; }
body.presenter header h1 { display: none; }
body.presenter #caption { font-size: max(30px, 2.6vw); min-height: 1.4em; }
body.presenter .help { display: none; }
body.presenter button, body.presenter #counter { font-size: 1.3em; }
.help { color: #777; font-size: .85em; }
"""

# Plain ES5, inline.  It replays the frames' changes exactly as Stepper.state does.
_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById('frames').textContent);
  var frames = data.frames;
  var slider = document.getElementById('slider');
  var caption = document.getElementById('caption');
  var counter = document.getElementById('counter');
  var view = document.getElementById('view');
  var canvas = document.getElementById('canvas');
  var svg = canvas.querySelector('svg');
  svg.setAttribute('width', data.width);
  svg.setAttribute('height', data.height);
  var current = 0, scale = 1, tx = 0, ty = 0;
  var boxes = {};
  svg.querySelectorAll('g.node').forEach(function (g) {
    boxes[g.id] = {g: g, base: g.classList.contains('const') ? 'node const' : 'node',
                   grad: g.querySelector('.grad')};
  });
  var edges = {};
  svg.querySelectorAll('g.edge').forEach(function (g) { edges[g.id] = g; });

  function place() {
    canvas.style.transform = 'translate(' + tx + 'px,' + ty + 'px) scale(' + scale + ')';
  }
  function fit() {
    var w = view.clientWidth, h = view.clientHeight;
    // Small graphs are not blown up past MAX_FIT: boxes and strokes would look coarse.
    scale = Math.min(w / data.width, h / data.height, MAX_FIT);
    tx = (w - data.width * scale) / 2;
    ty = (h - data.height * scale) / 2;
    place();
  }
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = view.clientWidth / 2; cy = view.clientHeight / 2; }
    var next = Math.max(0.05, Math.min(20, scale * factor));
    tx = cx - (cx - tx) * next / scale;
    ty = cy - (cy - ty) * next / scale;
    scale = next;
    place();
  }
  function follow(ids) {
    // Bring the active boxes into view if the zoom left them outside.
    var frame = view.getBoundingClientRect(), dx = 0, dy = 0, n = 0, outside = false;
    ids.forEach(function (id) {
      var box = boxes[id] || {g: document.getElementById(id)};
      if (!box.g) { return; }
      var r = box.g.getBoundingClientRect();
      if (r.right < frame.left || r.left > frame.right || r.bottom < frame.top || r.top > frame.bottom) {
        outside = true;
      }
      dx += (r.left + r.right) / 2; dy += (r.top + r.bottom) / 2; n += 1;
    });
    if (outside && n) {
      tx += frame.left + frame.width / 2 - dx / n;
      ty += frame.top + frame.height / 2 - dy / n;
      place();
    }
  }
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    var pending = {}, known = {}, reached = {}, grads = {}, sent = {};
    data.pending.forEach(function (id) { pending[id] = true; });
    data.known.forEach(function (id) { known[id] = true; });
    for (var i = 0; i <= current; i++) {
      var f = frames[i];
      f.v.forEach(function (id) { delete pending[id]; known[id] = true; });
      f.g.forEach(function (g) { if (g[0]) { grads[g[0]] = g[1]; } reached[g[2]] = true; });
      f.s.forEach(function (id) { sent[id] = true; });
    }
    var frame = frames[current], cur = {}, lit = {};
    frame.cur.forEach(function (id) { cur[id] = true; });
    frame.lit.forEach(function (id) { lit[id] = true; });
    var back = frame.kind !== 'forward';
    Object.keys(boxes).forEach(function (id) {
      var b = boxes[id], cls = b.base;
      if (pending[id]) { cls += ' pending'; }
      if (known[id]) { cls += ' known'; }
      if (reached[id]) { cls += ' reached'; }
      if (cur[id]) { cls += ' current'; }
      b.g.setAttribute('class', cls);
      if (b.grad) {
        var tid = b.grad.id;
        if (grads[tid] !== undefined) {
          b.grad.textContent = grads[tid];
          b.grad.setAttribute('class', 'grad');
        } else {
          b.grad.setAttribute('class', 'grad hidden');
        }
      }
    });
    Object.keys(edges).forEach(function (id) {
      var cls = 'edge';
      if (sent[id]) { cls += ' sent'; }
      if (lit[id]) { cls += ' lit' + (back ? ' back' : ''); }
      edges[id].setAttribute('class', cls);
    });
    slider.value = String(current);
    caption.textContent = frame.caption;
    counter.textContent = 'frame ' + current + ' / ' + (frames.length - 1);
    if (window.location.hash !== '#' + current) {
      try { history.replaceState(null, '', '#' + current); } catch (e) { /* file: in some browsers */ }
    }
    follow(frame.cur);
  }
  function fromHash() {
    var k = parseInt((window.location.hash || '').slice(1), 10);
    return isNaN(k) ? null : k;
  }
  document.getElementById('prev').addEventListener('click', function () { show(current - 1); });
  document.getElementById('next').addEventListener('click', function () { show(current + 1); });
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(1.25); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(0.8); });
  document.getElementById('fit').addEventListener('click', fit);
  document.getElementById('presenter').addEventListener('click', function () {
    document.body.classList.toggle('presenter'); fit();
  });
  slider.addEventListener('input', function () { show(parseInt(slider.value, 10)); });
  window.addEventListener('hashchange', function () {
    var k = fromHash(); if (k !== null && k !== current) { show(k); }
  });
  window.addEventListener('resize', fit);
  view.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = view.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, {passive: false});
  var drag = null;
  view.addEventListener('mousedown', function (e) {
    drag = {x: e.clientX - tx, y: e.clientY - ty}; view.classList.add('dragging');
  });
  window.addEventListener('mousemove', function (e) {
    if (drag) { tx = e.clientX - drag.x; ty = e.clientY - drag.y; place(); }
  });
  window.addEventListener('mouseup', function () { drag = null; view.classList.remove('dragging'); });
  document.addEventListener('keydown', function (e) {
    if (e.target === slider && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) { e.preventDefault(); }
    if (e.key === 'ArrowLeft') { show(current - 1); }
    else if (e.key === 'ArrowRight') { show(current + 1); }
    else if (e.key === 'Home') { show(0); }
    else if (e.key === 'End') { show(frames.length - 1); }
    else if (e.key === '+' || e.key === '=') { zoom(1.25); }
    else if (e.key === '-') { zoom(0.8); }
    else if (e.key === '0') { fit(); }
    else if (e.key === 'p' || e.key === 'P') { document.body.classList.toggle('presenter'); fit(); }
  });
  fit();
  var start = fromHash();
  show(start === null ? START : start);
  window.mgxStepper = {show: show, fit: fit, zoom: zoom, frame: function () { return current; },
                       scale: function () { return scale; }};
})();
"""


def page(svg: str, frames_json: str, count: int, *, title: str, start: int = 0) -> str:
    """The HTML text: ``svg`` (the tagged drawing) and ``frames_json`` (``count`` frames' changes)."""
    safe_json = frames_json.replace("</", "<\\/")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<header>",
        f"<h1>{html.escape(title)}</h1>",
        '<button id="prev" type="button" title="previous frame (←)">&#9664; prev</button>',
        f'<input id="slider" type="range" min="0" max="{max(count - 1, 0)}" value="{start}" '
        'aria-label="frame">',
        '<button id="next" type="button" title="next frame (→)">next &#9654;</button>',
        '<span id="counter"></span>',
        '<button id="zoom-out" type="button" title="zoom out (−)">&minus;</button>',
        '<button id="zoom-in" type="button" title="zoom in (+)">+</button>',
        '<button id="fit" type="button" title="fit to the window (0)">fit</button>',
        '<button id="presenter" type="button" title="large text (P)">presenter</button>',
        '<span class="help">← → Home End · wheel/drag to zoom and pan</span>',
        "</header>",
        '<div id="caption" aria-live="polite"></div>',
        f'<div id="view"><div id="canvas">{svg}</div></div>',
        f'<script type="application/json" id="frames">{safe_json}</script>',
        f"<script>{_SCRIPT.replace('START', str(int(start))).replace('MAX_FIT', '1.8')}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
