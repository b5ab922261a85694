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
  var imageIndex = 0, block = data.blocks[0], channel = -1, grid = null;

  function gates() {
    // g_h (H,), g_w (W,) and the 2-D map (H, W) of the current view
    var b = data.images[imageIndex].blocks[String(block)];
    if (channel < 0) return {h: b.g_h_mean, w: b.g_w_mean, map: b.product_mean};
    var gh = b.g_h[channel], gw = b.g_w[channel];
    return {h: gh, w: gw, map: gh.map(function (a) { return gw.map(function (c) { return a * c; }); })};
  }

  A.imageSelect(stage, data, labels, function (k) { imageIndex = k; draw(false); });
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
      draw(true);
    }
  });
  var slider = A.slider(stage, {
    key: "channel", label: A.label(labels, "channel"), min: -1,
    max: data.channels[String(block)] - 1, step: 1, value: -1,
    format: function (c) { return c < 0 ? A.text(labels, "mean") : "c = " + c; },
    onInput: function (c) { channel = c; if (grid) draw(false); }
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
  A.colourBar(root, data.cmap, barX, top, side, 1);

  var showImage = A.networkReadouts(stage, data, labels);
  var readCell = A.readout(stage, "cell", A.label(labels, "cell"));
  var readH = A.readout(stage, "g-h", A.label(labels, "g-h"));
  var readW = A.readout(stage, "g-w", A.label(labels, "g-w"));
  var readP = A.readout(stage, "product", A.label(labels, "product"));
  var readRatio = A.readout(stage, "target-ratio", A.label(labels, "target-ratio"));

  function draw(rebuild) {
    var img = data.images[imageIndex];
    var g = gates(), n = g.h.length, s = side / n;
    if (rebuild || grid.cells.length !== n) {
      // a new block: a map of its size, the current cell back at (0, 0)
      grid = A.cellGrid(mapLayer, {rows: n, cols: n, x: mapX, y: top, width: side,
                                   height: side, pad: 0.3, onMove: update});
    }
    A.drawImage(inputLayer, img.rgb, inputX, top, side);
    while (stripLayer.firstChild) stripLayer.removeChild(stripLayer.firstChild);
    g.h.forEach(function (v, i) {
      stripLayer.appendChild(A.svg("rect", {x: mapX - strip - 2, y: top + i * s, width: strip,
                                            height: s + 0.3, fill: A.cmapColour(data.cmap, v),
                                            class: "attn-gh"}));
    });
    g.w.forEach(function (v, j) {
      stripLayer.appendChild(A.svg("rect", {x: mapX + j * s, y: top - strip - 2, width: s + 0.3,
                                            height: strip, fill: A.cmapColour(data.cmap, v),
                                            class: "attn-gw"}));
    });
    g.map.forEach(function (row, i) {
      row.forEach(function (v, j) {
        grid.cells[i][j].setAttribute("fill", A.cmapColour(data.cmap, v));
      });
    });
    showImage(img);
    // the target ratio of the map shown: the mean map's, or the picked channel's own
    var b = img.blocks[String(block)];
    var ratio = channel < 0 ? b.target_ratio : b.target_ratio_channels[channel];
    A.show(readRatio, ratio, ratio.toFixed(2));
    update();
  }

  function update() {
    var img = data.images[imageIndex];
    var g = gates(), n = g.h.length, s = side / n;
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    A.drawTarget(marks, img.target, inputX, top, side);  // on the input too: where the target is
    A.drawTarget(marks, img.target, mapX, top, side);
    var i = grid.at[0], j = grid.at[1];
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
