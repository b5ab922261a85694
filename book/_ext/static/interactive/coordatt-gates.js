/* Chapter 5: the trained Coordinate Attention's two gates for a test image the reader picks (data
 * from attn_lessons.interactive.coordatt). For one channel c: the h-gate g_h(i) as a strip left
 * of the map, the w-gate g_w(j) as a strip above it, and the map their outer product
 * g_h(i) g_w(j), the 2-D gate the channel is multiplied by; or, for "mean", the channel means of
 * the two gates and the mean of the products over channels. Fixed scale 0 to 1; the cells take
 * the pointer and the keyboard (Tab to the map, arrow keys). */
AttnFigures.register("coordatt-gates", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 320, side = 208, top = 64, inputX = 16, strip = 22, mapX = 300, barX = 560;
  var imageIndex = 0, block = data.blocks[0], channel = -1, cell = [0, 0];

  function className(k) { return A.text(labels, data.classes[k]); }
  function colour(v) {
    var n = data.cmap.length - 1;
    return data.cmap[Math.max(0, Math.min(n, Math.round(v * n)))];
  }
  function gates() {
    // g_h (H,), g_w (W,) and the 2-D map (H, W) of the current view
    var b = data.images[imageIndex].blocks[String(block)];
    if (channel < 0) return {h: b.g_h_mean, w: b.g_w_mean, map: b.product_mean};
    var gh = b.g_h[channel], gw = b.g_w[channel];
    return {h: gh, w: gw, map: gh.map(function (a) { return gw.map(function (c) { return a * c; }); })};
  }

  A.select(stage, {
    key: "image", label: A.label(labels, "image"),
    options: data.images.map(function (img, k) {
      return {value: k, text: (k + 1) + ": " + className(img.label) + " \u2192 " +
                              className(img.prediction)};
    }),
    onChange: function (v) { imageIndex = Number(v); draw(false); }
  });
  A.select(stage, {
    key: "block", label: A.label(labels, "block"),
    options: data.blocks.map(function (b) {
      var n = data.images[0].blocks[String(b)].g_h_mean.length;
      return {value: b, text: (b + 1) + " (" + n + " \u00d7 " + n + ")"};
    }),
    onChange: function (v) {
      block = Number(v);
      var c = data.channels[String(block)];
      slider.max = String(c - 1);
      if (channel > c - 1) channel = c - 1;
      slider.value = String(channel);
      slider.dispatchEvent(new Event("input"));
      cell = [0, 0];
      draw(true);
    }
  });
  var slider = A.slider(stage, {
    key: "channel", label: A.label(labels, "channel"), min: -1,
    max: data.channels[String(block)] - 1, step: 1, value: -1,
    format: function (c) { return c < 0 ? A.text(labels, "mean") : "c = " + c; },
    onInput: function (c) { channel = c; if (cells.length) draw(false); }
  });

  var root = A.canvas(stage, W, H, A.text(labels, "product"));
  root.appendChild(A.svg("text", {x: inputX + side / 2, y: top - 12, "text-anchor": "middle",
                                  text: A.text(labels, "input")}));
  root.appendChild(A.svg("text", {x: mapX + side / 2, y: top - strip - 14, "text-anchor": "middle",
                                  text: A.text(labels, "g-w")}));
  root.appendChild(A.svg("text", {x: mapX - strip - 8, y: top + side / 2, "text-anchor": "middle",
                                  transform: "rotate(-90 " + (mapX - strip - 8) + " " +
                                             (top + side / 2) + ")",
                                  text: A.text(labels, "g-h")}));
  root.appendChild(A.svg("text", {x: mapX + side / 2, y: top + side + 22, "text-anchor": "middle",
                                  text: A.text(labels, "product")}));
  var inputLayer = A.svg("g", {});
  var stripLayer = A.svg("g", {});
  var mapLayer = A.svg("g", {role: "grid", "aria-label": A.text(labels, "product")});
  var marks = A.svg("g", {"pointer-events": "none"});
  [inputLayer, stripLayer, mapLayer, marks].forEach(function (g) { root.appendChild(g); });
  for (var k = 0; k < data.cmap.length; k++) {
    var bh = side / data.cmap.length;
    root.appendChild(A.svg("rect", {x: barX, y: top + side - (k + 1) * bh, width: 14,
                                    height: bh + 0.5, fill: data.cmap[k]}));
  }
  [0, 0.5, 1].forEach(function (v) {
    root.appendChild(A.svg("text", {x: barX + 20, y: top + side - v * side + 4, text: String(v)}));
  });

  var readAcc = A.readout(stage, "accuracy", A.label(labels, "accuracy"));
  var readLabel = A.readout(stage, "label", A.label(labels, "label"));
  var readPred = A.readout(stage, "prediction", A.label(labels, "prediction"));
  var readCell = A.readout(stage, "cell", A.label(labels, "cell"));
  var readH = A.readout(stage, "g-h", A.label(labels, "g-h"));
  var readW = A.readout(stage, "g-w", A.label(labels, "g-w"));
  var readP = A.readout(stage, "product", A.label(labels, "product"));
  var readRatio = A.readout(stage, "target-ratio", A.label(labels, "target-ratio"));
  A.show(readAcc, data.accuracy, (100 * data.accuracy).toFixed(1) + " % (" +
         data.test_images + ")");

  function outline(target, x0, size) {
    var n = target.length, s = size / n, d = "";
    function on(i, j) { return i >= 0 && j >= 0 && i < n && j < n && target[i][j] === 1; }
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        if (!on(i, j)) continue;
        var x = x0 + j * s, y = top + i * s;
        if (!on(i - 1, j)) d += "M" + x + "," + y + "h" + s;
        if (!on(i + 1, j)) d += "M" + x + "," + (y + s) + "h" + s;
        if (!on(i, j - 1)) d += "M" + x + "," + y + "v" + s;
        if (!on(i, j + 1)) d += "M" + (x + s) + "," + y + "v" + s;
      }
    }
    return d;
  }

  var cells = [];
  function focusCell(i, j, moveFocus) {
    var n = cells.length;
    i = Math.max(0, Math.min(n - 1, i));
    j = Math.max(0, Math.min(n - 1, j));
    cells[cell[0]][cell[1]].setAttribute("tabindex", "-1");
    cell = [i, j];
    cells[i][j].setAttribute("tabindex", "0");
    if (moveFocus) cells[i][j].focus();
    update();
  }

  function buildMap(n) {
    var s = side / n;
    while (mapLayer.firstChild) mapLayer.removeChild(mapLayer.firstChild);
    cells = [];
    for (var i = 0; i < n; i++) {
      var row = A.svg("g", {role: "row"});
      mapLayer.appendChild(row);
      var line = [];
      for (var j = 0; j < n; j++) {
        var r = A.svg("rect", {x: mapX + j * s, y: top + i * s, width: s + 0.3, height: s + 0.3,
                               class: "attn-cell", role: "gridcell", tabindex: "-1",
                               "data-row": i, "data-col": j});
        (function (i, j) {
          r.addEventListener("mouseenter", function () { focusCell(i, j, false); });
          r.addEventListener("click", function () { focusCell(i, j, true); });
          r.addEventListener("keydown", function (e) {
            var moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1],
                         ArrowRight: [0, 1]};
            if (e.key === "Home") { e.preventDefault(); focusCell(0, 0, true); return; }
            if (e.key === "End") { e.preventDefault(); focusCell(n - 1, n - 1, true); return; }
            if (!moves[e.key]) return;
            e.preventDefault();
            focusCell(cell[0] + moves[e.key][0], cell[1] + moves[e.key][1], true);
          });
        })(i, j);
        row.appendChild(r);
        line.push(r);
      }
      cells.push(line);
    }
    cells[0][0].setAttribute("tabindex", "0");
  }

  function draw(rebuild) {
    var img = data.images[imageIndex];
    var g = gates(), n = g.h.length, s = side / n;
    if (rebuild || cells.length !== n) buildMap(n);
    while (inputLayer.firstChild) inputLayer.removeChild(inputLayer.firstChild);
    var px = side / img.rgb.length;
    img.rgb.forEach(function (row, i) {
      row.forEach(function (p, j) {
        inputLayer.appendChild(A.svg("rect", {
          x: inputX + j * px, y: top + i * px, width: px + 0.3, height: px + 0.3,
          fill: "rgb(" + p.map(function (v) { return Math.round(255 * v); }).join(",") + ")"}));
      });
    });
    while (stripLayer.firstChild) stripLayer.removeChild(stripLayer.firstChild);
    g.h.forEach(function (v, i) {
      stripLayer.appendChild(A.svg("rect", {x: mapX - strip - 2, y: top + i * s, width: strip,
                                            height: s + 0.3, fill: colour(v), class: "attn-gh"}));
    });
    g.w.forEach(function (v, j) {
      stripLayer.appendChild(A.svg("rect", {x: mapX + j * s, y: top - strip - 2, width: s + 0.3,
                                            height: strip, fill: colour(v), class: "attn-gw"}));
    });
    g.map.forEach(function (row, i) {
      row.forEach(function (v, j) { cells[i][j].setAttribute("fill", colour(v)); });
    });
    A.show(readLabel, img.label, className(img.label));
    A.show(readPred, img.prediction, className(img.prediction));
    var ratio = img.blocks[String(block)].target_ratio;
    A.show(readRatio, ratio, ratio.toFixed(2));
    update();
  }

  function update() {
    var img = data.images[imageIndex];
    var g = gates(), n = g.h.length, s = side / n;
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    var t = outline(img.target, mapX, side);
    marks.appendChild(A.svg("path", {d: t, stroke: "#000", "stroke-width": 3, fill: "none",
                                     "stroke-opacity": 0.5}));
    marks.appendChild(A.svg("path", {d: t, stroke: "#fff", "stroke-width": 1.5, fill: "none",
                                     class: "attn-target"}));
    var i = cell[0], j = cell[1];
    [[inputX + j * s, top + i * s, s, s], [mapX + j * s, top + i * s, s, s],
     [mapX - strip - 2, top + i * s, strip, s], [mapX + j * s, top - strip - 2, s, strip]]
      .forEach(function (r) {
        marks.appendChild(A.svg("rect", {x: r[0], y: r[1], width: r[2], height: r[3],
                                         fill: "none", stroke: A.color("orange"),
                                         "stroke-width": 3, class: "attn-focus"}));
      });
    A.show(readCell, i * n + j, "(" + i + ", " + j + ")");
    A.show(readH, g.h[i], g.h[i].toFixed(3));
    A.show(readW, g.w[j], g.w[j].toFixed(3));
    A.show(readP, g.map[i][j], g.map[i][j].toFixed(3));
  }
  draw(true);
});
