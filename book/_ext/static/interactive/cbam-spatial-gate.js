/* Chapter 4: the spatial gate g^s of the trained CBAM for a test image the reader picks (data
 * from attn_lessons.interactive.cbam). Left the input, right the gate of the chosen block on the
 * fixed scale 0 to 1, the target outlined on both. The gate's cells take the pointer and the keyboard
 * (Tab to the grid, arrow keys move the cell); the readouts show the gate under that cell. */
AttnFigures.register("cbam-spatial-gate", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 300, side = 224, top = 40, inputX = 24, gateX = 300, barX = 556;
  var imageIndex = 0, block = data.blocks[0], grid = null;

  A.imageSelect(stage, data, labels, function (k) { imageIndex = k; draw(false); });
  A.select(stage, {
    key: "block", label: A.label(labels, "block"),
    options: data.blocks.map(function (b) {
      var n = data.images[0].gates[String(b)].length;
      return {value: b, text: (b + 1) + " (" + n + " \u00d7 " + n + ")"};
    }),
    onChange: function (v) { block = Number(v); draw(true); }
  });

  var root = A.canvas(stage, W, H, A.text(labels, "gate"));
  root.appendChild(A.svg("text", {x: inputX + side / 2, y: top - 12, "text-anchor": "middle",
                                  text: A.text(labels, "input")}));
  root.appendChild(A.svg("text", {x: gateX + side / 2, y: top - 12, "text-anchor": "middle",
                                  text: A.text(labels, "gate")}));
  var inputLayer = A.svg("g", {});
  var gateLayer = A.svg("g", {role: "grid", "aria-label": A.text(labels, "gate")});
  var marks = A.svg("g", {"pointer-events": "none"});
  root.appendChild(inputLayer);
  root.appendChild(gateLayer);
  root.appendChild(marks);
  A.colourBar(root, data.cmap, barX, top, side, 1);  // 0 at the bottom, 1 at the top
  root.appendChild(A.svg("text", {x: gateX + side / 2, y: top + side + 22, "text-anchor": "middle",
                                  text: A.text(labels, "target")}));

  var showImage = A.networkReadouts(stage, data, labels);
  var readCell = A.readout(stage, "cell", A.label(labels, "cell"));
  var readGate = A.readout(stage, "gate-value", A.label(labels, "gate-value"));
  var readRatio = A.readout(stage, "target-ratio", A.label(labels, "target-ratio"));

  function gate() { return data.images[imageIndex].gates[String(block)]; }

  function draw(rebuild) {
    var img = data.images[imageIndex], g = gate(), n = g.length;
    A.drawImage(inputLayer, img.rgb, inputX, top, side);
    if (rebuild || grid.cells.length !== n) {
      // a new block: a grid of its size, the current cell back at (0, 0)
      grid = A.cellGrid(gateLayer, {rows: n, cols: n, x: gateX, y: top, width: side,
                                    height: side, onMove: update});
    }
    g.forEach(function (row, i) {
      row.forEach(function (v, j) {
        grid.cells[i][j].setAttribute("fill", A.cmapColour(data.cmap, v));
        grid.cells[i][j].setAttribute("aria-label", A.format(v));
      });
    });
    showImage(img);
    var ratio = img.target_ratio[String(block)];
    A.show(readRatio, ratio, ratio.toFixed(2));
    update();
  }

  function update() {
    var img = data.images[imageIndex], g = gate();
    var n = g.length, s = side / n, i = grid.at[0], j = grid.at[1];
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    A.drawTarget(marks, img.target, inputX, top, side);  // on the input too: where the target is
    A.drawTarget(marks, img.target, gateX, top, side);
    [inputX, gateX].forEach(function (x0) {
      marks.appendChild(A.svg("rect", {x: x0 + j * s, y: top + i * s, width: s,
                                       height: s, fill: "none", stroke: A.color("orange"),
                                       "stroke-width": 3, class: "attn-focus"}));
    });
    A.show(readCell, i * n + j, "(" + i + ", " + j + ")");
    A.show(readGate, g[i][j], g[i][j].toFixed(3));
  }
  draw(true);
});
