/* Chapter 6: one query position of the trained self-attention layer and its attention row (data
 * from attn_lessons.interactive.self_attention). Left the input with the block's positions as a
 * grid of query cells (pointer, click, or Tab to the grid and arrow keys); right the row of the
 * chosen query over all key positions, in multiples of the uniform weight 1/HW, on the fixed
 * scale 0 to HW (all the weight on one position), the target outlined on both. */
AttnFigures.register("self-attention-row", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 300, side = 224, top = 40, inputX = 24, mapX = 300, barX = 556;
  var imageIndex = 0, block = data.blocks[0], grid = null;

  function shape() { return data.shapes[String(block)]; }

  A.imageSelect(stage, data, labels, function (k) { imageIndex = k; draw(false); });
  A.select(stage, {
    key: "block", label: A.label(labels, "block"),
    options: data.blocks.map(function (b) {
      var s = data.shapes[String(b)];
      return {value: b, text: (b + 1) + " (" + s[0] + " \u00d7 " + s[1] + ")"};
    }),
    onChange: function (v) { block = Number(v); draw(true); }
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

  var showImage = A.networkReadouts(stage, data, labels);
  var readQuery = A.readout(stage, "query", A.label(labels, "query"));
  var readMax = A.readout(stage, "row-max", A.label(labels, "row-max"));
  var readArg = A.readout(stage, "row-argmax", A.label(labels, "row-argmax"));
  var readTarget = A.readout(stage, "on-target", A.label(labels, "on-target"));

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

  function buildGrid() {
    // the query cells of this block's positions over the input, the query back at (0, 0)
    var s = shape();
    grid = A.cellGrid(gridLayer, {
      rows: s[0], cols: s[1], x: inputX, y: top, width: side, height: side, selected: true,
      attrs: function (i, j) {
        return {fill: "transparent", stroke: "rgba(255,255,255,0.35)", "stroke-width": 0.5,
                "aria-label": "(" + i + ", " + j + ")"};
      },
      onMove: update
    });
    // the colour bar of this block's scale
    while (barLayer.firstChild) barLayer.removeChild(barLayer.firstChild);
    A.colourBar(barLayer, data.cmap, barX, top, side, data.scale_max[String(block)]);
    barLayer.appendChild(A.svg("text", {x: barX + 7, y: top + side + 22, "text-anchor": "middle",
                                        text: "\u00d7 1/HW"}));
  }

  function draw(rebuild) {
    var img = data.images[imageIndex];
    A.drawImage(inputLayer, img.rgb, inputX, top, side);
    if (rebuild) buildGrid();
    showImage(img);
    update();
  }

  function update() {
    var img = data.images[imageIndex];
    var s = shape(), h = s[0], w = s[1], ch = side / h, cw = side / w;
    var hw = h * w, vmax = data.scale_max[String(block)], qi = grid.at[0], qj = grid.at[1];
    var row = img.weights[String(block)][qi * w + qj];
    while (mapLayer.firstChild) mapLayer.removeChild(mapLayer.firstChild);
    var best = 0;
    row.forEach(function (v, p) {
      if (v > row[best]) best = p;
      var i = Math.floor(p / w), j = p % w;
      mapLayer.appendChild(A.svg("rect", {x: mapX + j * cw, y: top + i * ch, width: cw + 0.3,
                                          height: ch + 0.3, fill: A.cmapColour(data.cmap, v / vmax),
                                          "data-weight": v}));
    });
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    A.drawTarget(marks, img.target, inputX, top, side);   // on the input, where it is looked for
    A.drawTarget(marks, img.target, mapX, top, side);     // and on the map
    [inputX, mapX].forEach(function (x0, k) {
      marks.appendChild(A.svg("rect", {x: x0 + qj * cw, y: top + qi * ch,
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
    A.show(readQuery, qi * w + qj, "(" + qi + ", " + qj + ")");
    A.show(readMax, row[best] / hw, (row[best] / hw).toFixed(4) + " = " +
           row[best].toFixed(2) + " \u00d7 1/" + hw);
    A.show(readArg, best, "(" + bi + ", " + bj + ")");
    A.show(readTarget, onTarget, (100 * onTarget).toFixed(1) + " %");
  }
  draw(true);
});
