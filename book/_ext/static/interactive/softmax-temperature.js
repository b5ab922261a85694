/* Chapter 1: the softmax of a fixed score vector as the temperature T moves (data from
 * attn_lessons.interactive.similarity). The bars are the weights at the chosen T; the dashed
 * outlines are the arg-max limit (T -> 0), the dashed line the uniform limit 1/n (T -> infinity). */
AttnFigures.register("softmax-temperature", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 640, H = 290, left = 56, right = 24, top = 34, bottom = 50;
  var n = data.scores.length;
  var x0 = left, x1 = W - right, y = A.linear(0, 1, H - bottom, top);
  var slot = (x1 - x0) / n, barWidth = slot * 0.56;

  var index = data.start;
  A.slider(stage, {
    key: "temperature", label: A.label(labels, "temperature"),
    min: 0, max: data.temperatures.length - 1, step: 1, value: index,
    format: function (i) { return "T = " + A.format(data.temperatures[i]); },
    onInput: function (i) { index = i; draw(); }
  });

  var root = A.canvas(stage, W, H, A.text(labels, "weight"));
  // Axes and grid, drawn once.
  [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
    root.appendChild(A.svg("line", {x1: x0, x2: x1, y1: y(v), y2: y(v), class: "attn-grid"}));
    root.appendChild(A.svg("text", {x: x0 - 8, y: y(v) + 4, "text-anchor": "end",
                                    text: String(v)}));
  });
  root.appendChild(A.svg("path", {d: "M" + x0 + "," + top + "V" + y(0) + "H" + x1,
                                  class: "attn-axis"}));
  root.appendChild(A.svg("text", {x: 14, y: (top + y(0)) / 2, "text-anchor": "middle",
                                  transform: "rotate(-90 14 " + (top + y(0)) / 2 + ")",
                                  text: A.text(labels, "weight")}));
  data.scores.forEach(function (s, i) {
    root.appendChild(A.svg("text", {x: x0 + slot * (i + 0.5), y: y(0) + 18, "text-anchor": "middle",
                                    text: A.text(labels, "score") + " " + A.format(s)}));
  });
  // The two limits.
  data.argmax.forEach(function (v, i) {
    if (v <= 0) return;
    root.appendChild(A.svg("rect", {x: x0 + slot * (i + 0.5) - barWidth / 2 - 4, y: y(v),
                                    width: barWidth + 8, height: y(0) - y(v), fill: "none",
                                    stroke: A.color("vermillion"), "stroke-width": 2,
                                    "stroke-dasharray": "6 4", class: "attn-argmax"}));
  });
  root.appendChild(A.svg("line", {x1: x0, x2: x1, y1: y(data.uniform), y2: y(data.uniform),
                                  stroke: A.color("green"), "stroke-width": 2,
                                  "stroke-dasharray": "8 5", class: "attn-uniform"}));
  // Legend.
  var legend = A.svg("g", {transform: "translate(" + (x0 + 10) + "," + 14 + ")"});
  legend.appendChild(A.svg("rect", {x: 0, y: -9, width: 14, height: 10, fill: A.color("blue")}));
  legend.appendChild(A.svg("text", {x: 20, y: 0, text: A.text(labels, "weight")}));
  legend.appendChild(A.svg("rect", {x: 170, y: -9, width: 14, height: 10, fill: "none",
                                    stroke: A.color("vermillion"), "stroke-dasharray": "4 2"}));
  legend.appendChild(A.svg("text", {x: 190, y: 0, text: A.text(labels, "argmax")}));
  legend.appendChild(A.svg("line", {x1: 360, x2: 376, y1: -4, y2: -4, stroke: A.color("green"),
                                    "stroke-width": 2, "stroke-dasharray": "5 3"}));
  legend.appendChild(A.svg("text", {x: 382, y: 0, text: A.text(labels, "uniform")}));
  root.appendChild(legend);

  var bars = A.svg("g", {class: "attn-bars"});
  root.appendChild(bars);

  var readT = A.readout(stage, "temperature", A.label(labels, "temperature"));
  var reads = data.scores.map(function (s, i) {
    return A.readout(stage, "weight-" + i,
                     A.label(labels, "weight") + " (" + A.text(labels, "score") + " " +
                     A.format(s) + ")");
  });

  function draw() {
    var t = data.temperatures[index];
    var weights = data.weights[index];
    while (bars.firstChild) bars.removeChild(bars.firstChild);
    weights.forEach(function (p, i) {
      var cx = x0 + slot * (i + 0.5);
      bars.appendChild(A.svg("rect", {x: cx - barWidth / 2, y: y(p), width: barWidth,
                                      height: Math.max(0, y(0) - y(p)), fill: A.color("blue"),
                                      "data-weight": p}));
      bars.appendChild(A.svg("text", {x: cx, y: p > 0.9 ? y(p) + 16 : y(p) - 6,
                                      "text-anchor": "middle", class: p > 0.9 ? "attn-inside" : null,
                                      text: p < 0.001 ? "<0.001" : p.toFixed(3)}));
      A.show(reads[i], p, A.format(p, 4));
    });
    A.show(readT, t);
  }
  draw();
});
