/* The book's interactive figures: the shared part (book/_ext/interactive_figures.py).
 *
 * Each figure of a page is a <figure class="attn-interactive" data-figure="NAME"> holding a static
 * picture (img.attn-fallback), an empty div.attn-stage, its data (script.attn-data, JSON computed
 * by attn_lessons at build time) and its labels (ul.attn-labels, one li[data-key] per label, in
 * the page's language). A figure's own script (NAME.js) calls
 *
 *     AttnFigures.register("NAME", function init(stage, data, labels) { ... });
 *
 * and once the page is parsed init() is called for each figure of that name: it builds its
 * controls and its SVG drawing in `stage`. When it returns, the figure gets the class attn-live,
 * which shows the stage and hides the picture. If it throws, the figure keeps its picture, says
 * so below it, and the error is reported once on the console.
 *
 * `labels` maps each key to its label as HTML (it may hold maths); AttnFigures.text(labels, key)
 * gives it as plain text (for SVG <text>). A key missing from the page falls back to the key.
 *
 * Conventions the browser tests rely on: every control has data-key=KEY (the key of its label);
 * every number a test compares is shown in an element with data-value=NAME whose attribute
 * data-number holds the number at full precision (AttnFigures.show). No library, no network.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var inits = {};
  var counter = 0;

  /* An SVG element: svg("rect", {x: 1, y: 2, class: "bar"}); attrs.text sets its text. */
  function svg(tag, attrs) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        el.textContent = attrs.text;
      } else if (attrs[name] !== undefined && attrs[name] !== null) {
        el.setAttribute(name, String(attrs[name]));
      }
    });
    return el;
  }

  /* An HTML element with attributes (attrs.text sets its text, attrs.html its HTML). */
  function html(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        el.textContent = attrs.text;
      } else if (name === "html") {
        el.innerHTML = attrs.html;
      } else if (attrs[name] !== undefined && attrs[name] !== null) {
        el.setAttribute(name, String(attrs[name]));
      }
    });
    return el;
  }

  /* The drawing area: an <svg> that scales to the stage's width, with a text alternative, in a
   * box that scrolls sideways where the drawing keeps a width wider than the column (below). */
  function canvas(stage, width, height, title) {
    var root = svg("svg", {viewBox: "0 0 " + width + " " + height, class: "attn-svg",
                           role: "img", "aria-label": title || ""});
    if (title) root.appendChild(svg("title", {text: title}));
    var box = html("div", {class: "attn-svg-box"});
    box.appendChild(root);
    stage.appendChild(box);
    return root;
  }

  /* Figure text never under MIN_TEXT_PX on the screen, as for the book's other figures
   * (book/_ext/figure_text.py): each drawing keeps the width at which its smallest text is that
   * size (its text is sized in the drawing's units, interactive.css), and its box scrolls where
   * the column is narrower. The width is a CSS variable that interactive.css applies on narrow
   * screens only (a phone), so a desktop column keeps the whole drawing in view. */
  var MIN_TEXT_PX = 9;
  function keepTextReadable(stage) {
    stage.querySelectorAll("svg.attn-svg").forEach(function (root) {
      var smallest = Infinity;
      root.querySelectorAll("text, tspan").forEach(function (t) {
        var size = parseFloat(getComputedStyle(t).fontSize);
        if (size > 0 && t.textContent.trim()) smallest = Math.min(smallest, size);
      });
      var width = root.viewBox.baseVal ? root.viewBox.baseVal.width : 0;
      if (isFinite(smallest) && width > 0) {
        root.style.setProperty("--attn-min-width", Math.ceil(width * MIN_TEXT_PX / smallest) + "px");
      }
    });
  }

  function uniqueId(key) {
    counter += 1;
    return "attn-" + String(key).replace(/[^A-Za-z0-9_-]/g, "-") + "-" + counter;
  }

  function controlRow(stage) {
    var row = stage.querySelector(":scope > .attn-controls");
    if (!row) {
      row = html("div", {class: "attn-controls"});
      stage.insertBefore(row, stage.firstChild);
    }
    return row;
  }

  /* A labelled range input with an <output> showing format(value). Arrow keys, PageUp/PageDown,
   * Home and End work as for any range input. onInput(value) runs on every change. */
  function slider(stage, opts) {
    var id = uniqueId(opts.key);
    var format = opts.format || function (v) { return String(v); };
    var wrap = html("div", {class: "attn-control attn-slider"});
    var label = html("label", {for: id, html: opts.label});
    var input = html("input", {type: "range", id: id, min: opts.min, max: opts.max,
                               step: opts.step === undefined ? 1 : opts.step,
                               "data-key": opts.key});
    input.value = String(opts.value);
    var output = html("output", {for: id, "data-control": opts.key});
    function update() {
      var value = Number(input.value);
      output.textContent = format(value);
      input.setAttribute("aria-valuetext", output.textContent);
      if (opts.onInput) opts.onInput(value);
    }
    input.addEventListener("input", update);
    wrap.appendChild(label);
    wrap.appendChild(input);
    wrap.appendChild(output);
    controlRow(stage).appendChild(wrap);
    output.textContent = format(Number(input.value));
    input.setAttribute("aria-valuetext", output.textContent);
    return input;
  }

  /* A labelled <select>; options: [{value, text}]; onChange(value) runs on every change. */
  function select(stage, opts) {
    var id = uniqueId(opts.key);
    var wrap = html("div", {class: "attn-control attn-select"});
    var label = html("label", {for: id, html: opts.label});
    var box = html("select", {id: id, "data-key": opts.key});
    opts.options.forEach(function (option) {
      var el = html("option", {value: option.value});
      el.innerHTML = option.text;
      box.appendChild(el);
    });
    if (opts.value !== undefined) box.value = String(opts.value);
    box.addEventListener("change", function () { if (opts.onChange) opts.onChange(box.value); });
    wrap.appendChild(label);
    wrap.appendChild(box);
    controlRow(stage).appendChild(wrap);
    return box;
  }

  /* A labelled number the figure updates with show(): <span data-value=KEY data-number=...>. */
  function readout(stage, key, label) {
    var row = stage.querySelector(":scope > .attn-readouts");
    if (!row) {
      row = html("dl", {class: "attn-readouts"});
      stage.appendChild(row);
    }
    var term = html("dt", {html: label === undefined ? key : label});
    var value = html("span", {"data-value": key});
    var dd = html("dd");
    dd.appendChild(value);
    row.appendChild(term);
    row.appendChild(dd);
    return value;
  }

  /* Show `number` in `el` as `text` (default: format(number)), keeping the exact number. */
  function show(el, number, text) {
    el.setAttribute("data-number", String(number));
    el.textContent = text === undefined ? format(number) : text;
    return el;
  }

  /* A number for reading: 3 significant digits, integers in full, no exponent below 1e6. */
  function format(x, digits) {
    if (typeof x !== "number" || !isFinite(x)) return String(x);
    if (Number.isInteger(x)) return x.toLocaleString("en-US").replace(/,/g, "\u2009");
    var d = digits === undefined ? 3 : digits;
    var text = Math.abs(x) >= 1e-4 ? String(Number(x.toPrecision(d))) : x.toExponential(d - 1);
    return text;
  }

  /* y = r0 + (x - d0) / (d1 - d0) * (r1 - r0), and its logarithmic twin. */
  function linear(d0, d1, r0, r1) {
    return function (x) { return r0 + (x - d0) / (d1 - d0) * (r1 - r0); };
  }
  function log(d0, d1, r0, r1) {
    var l0 = Math.log(d0), l1 = Math.log(d1);
    return function (x) { return r0 + (Math.log(x) - l0) / (l1 - l0) * (r1 - r0); };
  }

  /* A colour of the colour-blind-safe palette (Okabe and Ito), as a CSS value that the
   * stylesheet lightens in dark mode: blue, orange, green, vermillion, purple, sky, yellow. */
  function color(name) { return "var(--attn-" + name + ")"; }

  /* A label as plain text (maths as its TeX source without delimiters). */
  function text(labels, key) {
    var source = labels && Object.prototype.hasOwnProperty.call(labels.text, key)
      ? labels.text[key] : key;
    return source;
  }

  function label(labels, key) {
    return labels && Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key;
  }

  /* ---- The figures of trained networks (chapters 4 to 6): input, gate or map, target ---- */

  /* The colour of v in [0, 1] on a colour map (a list of CSS colours, low to high). */
  function cmapColour(cmap, v) {
    var n = cmap.length - 1;
    return cmap[Math.max(0, Math.min(n, Math.round(v * n)))];
  }

  /* The colour map upright at x, from top (vmax) to top + side (0), ticks at 0, vmax/2, vmax. */
  function colourBar(layer, cmap, x, top, side, vmax) {
    var h = side / cmap.length;
    for (var k = 0; k < cmap.length; k++) {
      layer.appendChild(svg("rect", {x: x, y: top + side - (k + 1) * h, width: 14,
                                     height: h + 0.5, fill: cmap[k]}));
    }
    [0, vmax / 2, vmax].forEach(function (v) {
      layer.appendChild(svg("text", {x: x + 20, y: top + side - v / vmax * side + 4,
                                     text: String(v)}));
    });
  }

  /* The input image (rgb: rows of [r, g, b] in [0, 1]) as a side x side square at (x0, y0). */
  function drawImage(layer, rgb, x0, y0, side) {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    var px = side / rgb.length;
    rgb.forEach(function (row, i) {
      row.forEach(function (p, j) {
        layer.appendChild(svg("rect", {
          x: x0 + j * px, y: y0 + i * px, width: px + 0.3, height: px + 0.3,
          fill: "rgb(" + p.map(function (v) { return Math.round(255 * v); }).join(",") + ")"}));
      });
    });
  }

  /* The outline of the target (a 0/1 mask) over a side x side square at (x0, y0): the edges of
   * its pixels that border a pixel off the target, white on a dark halo (class attn-target). */
  function drawTarget(layer, target, x0, y0, side) {
    var n = target.length, s = side / n, d = "";
    function on(i, j) { return i >= 0 && j >= 0 && i < n && j < n && target[i][j] === 1; }
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        if (!on(i, j)) continue;
        var x = x0 + j * s, y = y0 + i * s;
        if (!on(i - 1, j)) d += "M" + x + "," + y + "h" + s;
        if (!on(i + 1, j)) d += "M" + x + "," + (y + s) + "h" + s;
        if (!on(i, j - 1)) d += "M" + x + "," + y + "v" + s;
        if (!on(i, j + 1)) d += "M" + (x + s) + "," + y + "v" + s;
      }
    }
    layer.appendChild(svg("path", {d: d, stroke: "#000", "stroke-width": 3, fill: "none",
                                   "stroke-opacity": 0.5}));
    layer.appendChild(svg("path", {d: d, stroke: "#fff", "stroke-width": 1.5, fill: "none",
                                   class: "attn-target"}));
  }

  /* The select of a test image, each shown as "k: class -> prediction" (data: classes, images
   * with label and prediction); onImage(k) when the reader picks another. */
  function imageSelect(stage, data, labels, onImage) {
    function className(k) { return text(labels, data.classes[k]); }
    return select(stage, {
      key: "image", label: label(labels, "image"),
      options: data.images.map(function (img, k) {
        return {value: k, text: (k + 1) + ": " + className(img.label) + " \u2192 " +
                                className(img.prediction)};
      }),
      onChange: function (v) { onImage(Number(v)); }
    });
  }

  /* The readouts of the trained network: its test accuracy (data: accuracy, test_images), shown
   * at once, and the image's label and prediction, shown by the returned showImage(img). */
  function networkReadouts(stage, data, labels) {
    function className(k) { return text(labels, data.classes[k]); }
    var accuracy = readout(stage, "accuracy", label(labels, "accuracy"));
    var truth = readout(stage, "label", label(labels, "label"));
    var prediction = readout(stage, "prediction", label(labels, "prediction"));
    show(accuracy, data.accuracy, (100 * data.accuracy).toFixed(1) + " % (" +
         data.test_images + ")");
    return function showImage(img) {
      show(truth, img.label, className(img.label));
      show(prediction, img.prediction, className(img.prediction));
    };
  }

  /* A rows x cols grid of cells over a width x height area at (x, y) in `layer`, which takes the
   * pointer and the keyboard: one cell is current and the only one Tab reaches (tabindex 0); the
   * arrow keys move it, Home and End go to the corners, the pointer moves it on hover and
   * focuses it on click. opts: rows, cols, x, y, width, height, pad (added to each cell's size,
   * default 0), attrs(i, j) (more attributes of a cell), selected (mark the current cell
   * aria-selected too), onMove(i, j) (after every move). Returns {cells, at: [i, j], move}. */
  function cellGrid(layer, opts) {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    var h = opts.rows, w = opts.cols, ch = opts.height / h, cw = opts.width / w;
    var pad = opts.pad || 0;
    var grid = {cells: [], at: [0, 0]};
    function mark(on) {
      var cell = grid.cells[grid.at[0]][grid.at[1]];
      cell.setAttribute("tabindex", on ? "0" : "-1");
      if (opts.selected) cell.setAttribute("aria-selected", on ? "true" : "false");
    }
    grid.move = function (i, j, focus) {
      mark(false);
      grid.at = [Math.max(0, Math.min(h - 1, i)), Math.max(0, Math.min(w - 1, j))];
      mark(true);
      if (focus) grid.cells[grid.at[0]][grid.at[1]].focus();
      if (opts.onMove) opts.onMove(grid.at[0], grid.at[1]);
    };
    var moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
    function listen(cell, i, j) {
      cell.addEventListener("mouseenter", function () { grid.move(i, j, false); });
      cell.addEventListener("click", function () { grid.move(i, j, true); });
      cell.addEventListener("keydown", function (e) {
        if (e.key === "Home") { e.preventDefault(); grid.move(0, 0, true); return; }
        if (e.key === "End") { e.preventDefault(); grid.move(h - 1, w - 1, true); return; }
        if (!moves[e.key]) return;
        e.preventDefault();
        grid.move(grid.at[0] + moves[e.key][0], grid.at[1] + moves[e.key][1], true);
      });
    }
    for (var i = 0; i < h; i++) {
      var row = svg("g", {role: "row"});
      layer.appendChild(row);
      var line = [];
      for (var j = 0; j < w; j++) {
        var attrs = {x: opts.x + j * cw, y: opts.y + i * ch, width: cw + pad, height: ch + pad,
                     class: "attn-cell", role: "gridcell", tabindex: "-1",
                     "aria-selected": opts.selected ? "false" : null,
                     "data-row": i, "data-col": j};
        var more = opts.attrs ? opts.attrs(i, j) : {};
        Object.keys(more).forEach(function (name) { attrs[name] = more[name]; });
        var cell = svg("rect", attrs);
        listen(cell, i, j);
        row.appendChild(cell);
        line.push(cell);
      }
      grid.cells.push(line);
    }
    mark(true);
    return grid;
  }

  function readLabels(figure) {
    var labels = {};
    var plain = {};
    figure.querySelectorAll("ul.attn-labels > li[data-key]").forEach(function (li) {
      var key = li.getAttribute("data-key");
      labels[key] = li.innerHTML.trim();
      var copy = li.cloneNode(true);
      copy.querySelectorAll("mjx-container").forEach(function (m) { m.remove(); });
      plain[key] = copy.textContent.replace(/\\[()[\]]/g, "").replace(/\s+/g, " ").trim();
    });
    Object.defineProperty(labels, "text", {value: plain, enumerable: false});
    return labels;
  }

  function typeset(stage) {
    var mj = window.MathJax;
    if (!stage.querySelector(".math") || !mj || !mj.startup || !mj.startup.promise) {
      return Promise.resolve(null);
    }
    return mj.startup.promise.then(function () {
      var raw = Array.prototype.filter.call(stage.querySelectorAll(".math"), function (m) {
        return !m.querySelector("mjx-container");
      });
      if (raw.length && mj.typesetPromise) return mj.typesetPromise(raw);
      return null;
    });
  }

  function fail(figure, name, error) {
    figure.classList.remove("attn-live");
    figure.setAttribute("data-state", "failed");
    var stage = figure.querySelector(".attn-stage");
    if (stage) stage.textContent = "";
    var note = html("p", {class: "attn-failed",
                          text: "The interactive version of this figure could not start (" +
                                (error && error.message ? error.message : String(error)) +
                                "); the picture shows its static version."});
    figure.insertBefore(note, figure.querySelector("figcaption"));
    console.error("attn-interactive figure " + name + ": " + (error && error.stack || error));
  }

  function start(figure) {
    var name = figure.getAttribute("data-figure");
    if (figure.getAttribute("data-state")) return Promise.resolve(null);
    try {
      if (!Object.prototype.hasOwnProperty.call(inits, name)) {
        throw new Error("no script registered the figure " + name);
      }
      var stage = figure.querySelector(":scope > .attn-stage");
      var source = figure.querySelector(":scope > script.attn-data");
      if (!stage || !source) throw new Error("the figure has no stage or no data");
      var data = JSON.parse(source.textContent);
      inits[name](stage, data, readLabels(figure));
      figure.classList.add("attn-live");
      keepTextReadable(stage);
      figure.setAttribute("data-state", "live");
      return typeset(stage);
    } catch (error) {
      fail(figure, name, error);
    }
    return Promise.resolve(null);
  }

  /* Draw a figure afresh from its data, as on page load: its controls back at their first
   * values. Returns a promise that resolves once the new drawing's maths is typeset. (The
   * browser tests use it to serve many tests from one page load.) */
  function restart(figure) {
    figure.removeAttribute("data-state");
    figure.classList.remove("attn-live");
    var stage = figure.querySelector(":scope > .attn-stage");
    if (stage) stage.textContent = "";
    figure.querySelectorAll(":scope > p.attn-failed").forEach(function (p) { p.remove(); });
    return start(figure);
  }

  function startAll() {
    document.querySelectorAll("figure.attn-interactive[data-figure]").forEach(start);
  }

  function register(name, init) {
    if (typeof init !== "function") throw new TypeError("init of " + name + " is not a function");
    inits[name] = init;
    if (document.readyState !== "loading") {
      document.querySelectorAll('figure.attn-interactive[data-figure="' + name + '"]')
        .forEach(start);
    }
  }

  window.AttnFigures = {
    register: register, svg: svg, html: html, canvas: canvas, slider: slider, select: select,
    readout: readout, show: show, format: format, linear: linear, log: log, color: color,
    text: text, label: label, cmapColour: cmapColour, colourBar: colourBar,
    drawImage: drawImage, drawTarget: drawTarget, imageSelect: imageSelect,
    networkReadouts: networkReadouts, cellGrid: cellGrid, restart: restart
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
