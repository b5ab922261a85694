/* Chapter 4: the spatial gate M_s of the trained CBAM for a test image the reader picks (data
 * from attn_lessons.interactive.cbam). Left the input, right the gate of the chosen block on the
 * fixed scale 0 to 1, the target outlined. The gate's cells take the pointer and the keyboard
 * (Tab to the grid, arrow keys move the cell); the readouts show the gate under that cell. */
AttnFigures.register("cbam-spatial-gate", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 300, side = 224, top = 40, inputX = 24, gateX = 300, barX = 556;
  var imageIndex = 0, block = data.blocks[0], cell = [0, 0];

  function className(k) { return A.text(labels, data.classes[k]); }
  function colour(v) {
    var n = data.cmap.length - 1;
    return data.cmap[Math.max(0, Math.min(n, Math.round(v * n)))];
  }

  A.select(stage, {
    key: "image", label: A.label(labels, "image"),
    options: data.images.map(function (img, k) {
      return {value: k, text: (k + 1) + ": " + className(img.label) + " \u2192 " +
                              className(img.prediction)};
    }),
    onChange: function (v) { imageIndex = Number(v); draw(); }
  });
  A.select(stage, {
    key: "block", label: A.label(labels, "block"),
    options: data.blocks.map(function (b) {
      var n = data.images[0].gates[String(b)].length;
      return {value: b, text: (b + 1) + " (" + n + " \u00d7 " + n + ")"};
    }),
    onChange: function (v) { block = Number(v); cell = [0, 0]; draw(true); }
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
  // colour bar, 0 at the bottom, 1 at the top
  for (var k = 0; k < data.cmap.length; k++) {
    var h = side / data.cmap.length;
    root.appendChild(A.svg("rect", {x: barX, y: top + side - (k + 1) * h, width: 14,
                                    height: h + 0.5, fill: data.cmap[k]}));
  }
  [0, 0.5, 1].forEach(function (v) {
    root.appendChild(A.svg("text", {x: barX + 20, y: top + side - v * side + 4, text: String(v)}));
  });
  root.appendChild(A.svg("text", {x: gateX + side / 2, y: top + side + 22, "text-anchor": "middle",
                                  text: A.text(labels, "target")}));

  var readAcc = A.readout(stage, "accuracy", A.label(labels, "accuracy"));
  var readLabel = A.readout(stage, "label", A.label(labels, "label"));
  var readPred = A.readout(stage, "prediction", A.label(labels, "prediction"));
  var readCell = A.readout(stage, "cell", A.label(labels, "cell"));
  var readGate = A.readout(stage, "gate-value", A.label(labels, "gate-value"));
  var readRatio = A.readout(stage, "target-ratio", A.label(labels, "target-ratio"));
  A.show(readAcc, data.accuracy, (100 * data.accuracy).toFixed(1) + " % (" +
         data.test_images + ")");

  function outline(target, x0, size) {
    // the edges of the target's pixels that border a non-target pixel
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

  function draw(rebuild) {
    var img = data.images[imageIndex];
    var gate = img.gates[String(block)];
    var n = gate.length, s = side / n;
    while (inputLayer.firstChild) inputLayer.removeChild(inputLayer.firstChild);
    var px = side / img.rgb.length;
    img.rgb.forEach(function (row, i) {
      row.forEach(function (p, j) {
        inputLayer.appendChild(A.svg("rect", {
          x: inputX + j * px, y: top + i * px, width: px + 0.3, height: px + 0.3,
          fill: "rgb(" + p.map(function (v) { return Math.round(255 * v); }).join(",") + ")"}));
      });
    });
    if (rebuild || cells.length !== n) {
      while (gateLayer.firstChild) gateLayer.removeChild(gateLayer.firstChild);
      cells = [];
      for (var i = 0; i < n; i++) {
        var line = [];
        var rowG = A.svg("g", {role: "row"});
        gateLayer.appendChild(rowG);
        for (var j = 0; j < n; j++) {
          var r = A.svg("rect", {x: gateX + j * s, y: top + i * s, width: s, height: s,
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
          rowG.appendChild(r);
          line.push(r);
        }
        cells.push(line);
      }
      cells[Math.min(cell[0], n - 1)][Math.min(cell[1], n - 1)].setAttribute("tabindex", "0");
    }
    gate.forEach(function (row, i) {
      row.forEach(function (v, j) {
        cells[i][j].setAttribute("fill", colour(v));
        cells[i][j].setAttribute("aria-label", A.format(v));
      });
    });
    A.show(readLabel, img.label, className(img.label));
    A.show(readPred, img.prediction, className(img.prediction));
    var ratio = img.target_ratio[String(block)];
    A.show(readRatio, ratio, ratio.toFixed(2));
    update();
  }

  function update() {
    var img = data.images[imageIndex];
    var gate = img.gates[String(block)];
    var n = gate.length, s = side / n;
    var v = gate[cell[0]][cell[1]];
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    var t = outline(img.target, gateX, side);
    marks.appendChild(A.svg("path", {d: t, stroke: "#000", "stroke-width": 3, fill: "none",
                                     "stroke-opacity": 0.5}));
    marks.appendChild(A.svg("path", {d: t, stroke: "#fff", "stroke-width": 1.5, fill: "none",
                                     class: "attn-target"}));
    [inputX, gateX].forEach(function (x0) {
      marks.appendChild(A.svg("rect", {x: x0 + cell[1] * s, y: top + cell[0] * s, width: s,
                                       height: s, fill: "none", stroke: A.color("orange"),
                                       "stroke-width": 3, class: "attn-focus"}));
    });
    A.show(readCell, cell[0] * n + cell[1], "(" + cell[0] + ", " + cell[1] + ")");
    A.show(readGate, v, v.toFixed(3));
  }
  draw(true);
});
