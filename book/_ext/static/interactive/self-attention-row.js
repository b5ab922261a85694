/* Chapter 6: one query position of the trained self-attention layer and its attention row (data
 * from attn_lessons.interactive.self_attention). Left the input with the block's positions as a
 * grid of query cells (pointer, click, or Tab to the grid and arrow keys); right the row of the
 * chosen query over all key positions, in multiples of the uniform weight 1/HW, on the fixed
 * scale 0 to HW (all the weight on one position), the target outlined. */
AttnFigures.register("self-attention-row", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 300, side = 224, top = 40, inputX = 24, mapX = 300, barX = 556;
  var imageIndex = 0, block = data.blocks[0], query = [0, 0];

  function className(k) { return A.text(labels, data.classes[k]); }
  function shape() { return data.shapes[String(block)]; }
  function colour(v, vmax) {
    var n = data.cmap.length - 1;
    return data.cmap[Math.max(0, Math.min(n, Math.round(v / vmax * n)))];
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
      var s = data.shapes[String(b)];
      return {value: b, text: (b + 1) + " (" + s[0] + " \u00d7 " + s[1] + ")"};
    }),
    onChange: function (v) { block = Number(v); query = [0, 0]; draw(true); }
  });

  var root = A.canvas(stage, W, H, A.text(labels, "row"));
  root.appendChild(A.svg("text", {x: inputX + side / 2, y: top - 12, "text-anchor": "middle",
                                  text: A.text(labels, "query")}));
  root.appendChild(A.svg("text", {x: mapX + side / 2, y: top - 12, "text-anchor": "middle",
                                  text: A.text(labels, "row")}));
  var inputLayer = A.svg("g", {});
  var mapLayer = A.svg("g", {});
  var gridLayer = A.svg("g", {role: "grid", "aria-label": A.text(labels, "query")});
  var marks = A.svg("g", {"pointer-events": "none"});
  root.appendChild(inputLayer);
  root.appendChild(mapLayer);
  root.appendChild(marks);
  root.appendChild(gridLayer);
  var barLayer = A.svg("g", {});
  root.appendChild(barLayer);
  root.appendChild(A.svg("text", {x: mapX + side / 2, y: top + side + 22, "text-anchor": "middle",
                                  text: A.text(labels, "target")}));

  var readAcc = A.readout(stage, "accuracy", A.label(labels, "accuracy"));
  var readLabel = A.readout(stage, "label", A.label(labels, "label"));
  var readPred = A.readout(stage, "prediction", A.label(labels, "prediction"));
  var readQuery = A.readout(stage, "query", A.label(labels, "query"));
  var readMax = A.readout(stage, "row-max", A.label(labels, "row-max"));
  var readArg = A.readout(stage, "row-argmax", A.label(labels, "row-argmax"));
  var readTarget = A.readout(stage, "on-target", A.label(labels, "on-target"));
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

  function targetCells(target, h, w) {
    // a position is on the target when any of its pixels is (max pooling, as chapter 7 scores)
    var f = target.length / h, cells = [];
    for (var i = 0; i < h; i++) {
      for (var j = 0; j < w; j++) {
        var hit = false;
        for (var a = 0; a < f; a++) {
          for (var b = 0; b < f; b++) { if (target[i * f + a][j * f + b] === 1) hit = true; }
        }
        if (hit) cells.push(i * w + j);
      }
    }
    return cells;
  }

  var cells = [];
  function pick(i, j, moveFocus) {
    var s = shape();
    i = Math.max(0, Math.min(s[0] - 1, i));
    j = Math.max(0, Math.min(s[1] - 1, j));
    cells[query[0]][query[1]].setAttribute("tabindex", "-1");
    cells[query[0]][query[1]].setAttribute("aria-selected", "false");
    query = [i, j];
    cells[i][j].setAttribute("tabindex", "0");
    cells[i][j].setAttribute("aria-selected", "true");
    if (moveFocus) cells[i][j].focus();
    update();
  }

  function buildGrid() {
    var s = shape(), h = s[0], w = s[1], ch = side / h, cw = side / w;
    while (gridLayer.firstChild) gridLayer.removeChild(gridLayer.firstChild);
    cells = [];
    for (var i = 0; i < h; i++) {
      var row = A.svg("g", {role: "row"});
      gridLayer.appendChild(row);
      var line = [];
      for (var j = 0; j < w; j++) {
        var r = A.svg("rect", {x: inputX + j * cw, y: top + i * ch, width: cw, height: ch,
                               fill: "transparent", stroke: "rgba(255,255,255,0.35)",
                               "stroke-width": 0.5, class: "attn-cell", role: "gridcell",
                               tabindex: "-1", "aria-selected": "false",
                               "aria-label": "(" + i + ", " + j + ")",
                               "data-row": i, "data-col": j});
        (function (i, j) {
          r.addEventListener("mouseenter", function () { pick(i, j, false); });
          r.addEventListener("click", function () { pick(i, j, true); });
          r.addEventListener("keydown", function (e) {
            var moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1],
                         ArrowRight: [0, 1]};
            if (e.key === "Home") { e.preventDefault(); pick(0, 0, true); return; }
            if (e.key === "End") { e.preventDefault(); pick(h - 1, w - 1, true); return; }
            if (!moves[e.key]) return;
            e.preventDefault();
            pick(query[0] + moves[e.key][0], query[1] + moves[e.key][1], true);
          });
        })(i, j);
        row.appendChild(r);
        line.push(r);
      }
      cells.push(line);
    }
    cells[query[0]][query[1]].setAttribute("tabindex", "0");
    cells[query[0]][query[1]].setAttribute("aria-selected", "true");
    // the colour bar of this block's scale
    while (barLayer.firstChild) barLayer.removeChild(barLayer.firstChild);
    var vmax = data.scale_max[String(block)], n = data.cmap.length, bh = side / n;
    for (var k = 0; k < n; k++) {
      barLayer.appendChild(A.svg("rect", {x: barX, y: top + side - (k + 1) * bh, width: 14,
                                          height: bh + 0.5, fill: data.cmap[k]}));
    }
    [0, vmax / 2, vmax].forEach(function (v) {
      barLayer.appendChild(A.svg("text", {x: barX + 20, y: top + side - v / vmax * side + 4,
                                          text: String(v)}));
    });
    barLayer.appendChild(A.svg("text", {x: barX + 7, y: top + side + 22, "text-anchor": "middle",
                                        text: "\u00d7 1/HW"}));
  }

  function draw(rebuild) {
    var img = data.images[imageIndex];
    while (inputLayer.firstChild) inputLayer.removeChild(inputLayer.firstChild);
    var px = side / img.rgb.length;
    img.rgb.forEach(function (row, i) {
      row.forEach(function (p, j) {
        inputLayer.appendChild(A.svg("rect", {
          x: inputX + j * px, y: top + i * px, width: px + 0.3, height: px + 0.3,
          fill: "rgb(" + p.map(function (v) { return Math.round(255 * v); }).join(",") + ")"}));
      });
    });
    if (rebuild) buildGrid();
    A.show(readLabel, img.label, className(img.label));
    A.show(readPred, img.prediction, className(img.prediction));
    update();
  }

  function update() {
    var img = data.images[imageIndex];
    var s = shape(), h = s[0], w = s[1], ch = side / h, cw = side / w;
    var hw = h * w, vmax = data.scale_max[String(block)];
    var row = img.weights[String(block)][query[0] * w + query[1]];
    while (mapLayer.firstChild) mapLayer.removeChild(mapLayer.firstChild);
    var best = 0;
    row.forEach(function (v, p) {
      if (v > row[best]) best = p;
      var i = Math.floor(p / w), j = p % w;
      mapLayer.appendChild(A.svg("rect", {x: mapX + j * cw, y: top + i * ch, width: cw + 0.3,
                                          height: ch + 0.3, fill: colour(v, vmax),
                                          "data-weight": v}));
    });
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    var t = outline(img.target, mapX, side);
    marks.appendChild(A.svg("path", {d: t, stroke: "#000", "stroke-width": 3, fill: "none",
                                     "stroke-opacity": 0.5}));
    marks.appendChild(A.svg("path", {d: t, stroke: "#fff", "stroke-width": 1.5, fill: "none",
                                     class: "attn-target"}));
    [inputX, mapX].forEach(function (x0, k) {
      marks.appendChild(A.svg("rect", {x: x0 + query[1] * cw, y: top + query[0] * ch,
                                       width: cw, height: ch, fill: "none",
                                       stroke: A.color("orange"), "stroke-width": 3,
                                       "stroke-dasharray": k ? "5 3" : null,
                                       class: "attn-focus"}));
    });
    var bi = Math.floor(best / w), bj = best % w;
    marks.appendChild(A.svg("circle", {cx: mapX + (bj + 0.5) * cw, cy: top + (bi + 0.5) * ch,
                                       r: Math.min(cw, ch) / 5, fill: "none", stroke: "#fff",
                                       "stroke-width": 1.5, class: "attn-argmax"}));
    var onTarget = 0;
    targetCells(img.target, h, w).forEach(function (p) { onTarget += row[p] / hw; });
    A.show(readQuery, query[0] * w + query[1], "(" + query[0] + ", " + query[1] + ")");
    A.show(readMax, row[best] / hw, (row[best] / hw).toFixed(4) + " = " +
           row[best].toFixed(2) + " \u00d7 1/" + hw);
    A.show(readArg, best, "(" + bi + ", " + bj + ")");
    A.show(readTarget, onTarget, (100 * onTarget).toFixed(1) + " %");
  }
  draw(true);
});
