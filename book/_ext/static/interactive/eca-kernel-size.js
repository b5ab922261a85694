/* Chapter 3: ECA's t and kernel size k against the channel count C for three rules, and the
 * C-by-C matrix of the 1-D convolution for the chosen C: non-zero only on a band of width k (data
 * from attn_lessons.interactive.eca, eca_kernel_size). */
AttnFigures.register("eca-kernel-size", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 720, H = 320, top = 24, bottom = 52, left = 44, plotW = 390;
  var mx = left + plotW + 60, mSize = 210, my = top + 18;
  var colours = {paper: A.color("blue"), round_odd: A.color("orange"), at_least_3: A.color("green")};
  var dashes = {paper: null, round_odd: "8 4", at_least_3: "2 3"};
  var offsets = {paper: 0, round_odd: 0.12, at_least_3: -0.12};
  var state = {i: data.start, rule: data.rules[0]};

  A.slider(stage, {key: "channels", label: A.label(labels, "channels"), min: 0,
                   max: data.choices.length - 1, value: state.i,
                   format: function (i) { return "C = " + data.choices[i]; },
                   onInput: function (i) { state.i = i; draw(); }});
  A.select(stage, {key: "rule", label: A.label(labels, "rule"), value: state.rule,
                   options: data.rules.map(function (r) { return {value: r, text: A.text(labels, r)}; }),
                   onChange: function (r) { state.rule = r; draw(); }});

  var root = A.canvas(stage, W, H, A.text(labels, "kernel"));
  var x = A.log(1, data.max_channels, left, left + plotW);
  var y = A.linear(0, 8, H - bottom, top);
  for (var v = 0; v <= 8; v += 1) {
    root.appendChild(A.svg("line", {x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: "attn-grid"}));
    root.appendChild(A.svg("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end", text: String(v)}));
  }
  for (var m = 0; m <= 11; m += 1) {
    root.appendChild(A.svg("text", {x: x(Math.pow(2, m)), y: H - bottom + 16, "text-anchor": "middle",
                                    "font-size": 10, text: String(Math.pow(2, m))}));
  }
  root.appendChild(A.svg("path", {d: "M" + left + "," + top + "V" + (H - bottom) + "H" + (left + plotW),
                                  class: "attn-axis"}));
  root.appendChild(A.svg("text", {x: left + plotW / 2, y: H - bottom + 34, "text-anchor": "middle",
                                  text: A.text(labels, "channels")}));
  // t, continuous.
  var tPath = [];
  for (var c = 1; c <= data.max_channels; c *= 1.05) {
    tPath.push(x(c) + "," + y((Math.log2(c) + data.b) / data.gamma));
  }
  tPath.push(x(data.max_channels) + "," + y((Math.log2(data.max_channels) + data.b) / data.gamma));
  root.appendChild(A.svg("path", {d: "M" + tPath.join("L"), fill: "none", stroke: A.color("grey"),
                                  "stroke-width": 1.5}));
  // k of each rule, as steps (slightly apart, so that equal steps stay visible).
  data.rules.forEach(function (rule) {
    var d = "";
    data.runs[rule].forEach(function (run, j) {
      var yk = y(run[2] + offsets[rule]);
      d += (j === 0 ? "M" + x(run[0]) : "V" + yk) + (j === 0 ? "," + yk : "") + "H" + x(run[1] + 1);
    });
    root.appendChild(A.svg("path", {d: d, fill: "none", stroke: colours[rule], "stroke-width": 2.5,
                                    "stroke-dasharray": dashes[rule], "data-rule": rule}));
  });
  // Legend.
  var legend = A.svg("g", {transform: "translate(" + (left + 8) + "," + (top + 8) + ")"});
  legend.appendChild(A.svg("line", {x1: 0, x2: 18, y1: 0, y2: 0, stroke: A.color("grey"), "stroke-width": 1.5}));
  legend.appendChild(A.svg("text", {x: 24, y: 4, text: A.text(labels, "t")}));
  data.rules.forEach(function (rule, j) {
    legend.appendChild(A.svg("line", {x1: 0, x2: 18, y1: 16 * (j + 1), y2: 16 * (j + 1),
                                      stroke: colours[rule], "stroke-width": 2.5,
                                      "stroke-dasharray": dashes[rule]}));
    legend.appendChild(A.svg("text", {x: 24, y: 16 * (j + 1) + 4, text: A.text(labels, rule)}));
  });
  root.appendChild(legend);

  var marker = A.svg("g");
  root.appendChild(marker);
  var matrix = A.svg("g");
  root.appendChild(matrix);

  var readT = A.readout(stage, "t", A.label(labels, "t"));
  var readK = {};
  data.rules.forEach(function (rule) {
    readK[rule] = A.readout(stage, "k-" + rule, "k, " + A.label(labels, rule));
  });
  var readBand = A.readout(stage, "band", A.label(labels, "band"));

  function draw() {
    var C = data.choices[state.i];
    var k = data.k[state.rule][state.i];
    while (marker.firstChild) marker.removeChild(marker.firstChild);
    while (matrix.firstChild) matrix.removeChild(matrix.firstChild);
    marker.appendChild(A.svg("line", {x1: x(C), x2: x(C), y1: top, y2: H - bottom,
                                      stroke: "currentColor", "stroke-dasharray": "3 3"}));
    data.rules.forEach(function (rule) {
      marker.appendChild(A.svg("circle", {cx: x(C), cy: y(data.k[rule][state.i] + offsets[rule]),
                                          r: 4.5, fill: colours[rule]}));
    });
    // The C-by-C matrix and its band |c' - c| <= (k - 1) / 2.
    var h = (k - 1) / 2, s = mSize / C;
    matrix.appendChild(A.svg("rect", {x: mx, y: my, width: mSize, height: mSize, fill: "none",
                                      stroke: "currentColor"}));
    if (C <= 64) {
      for (var r = 0; r < C; r += 1) {
        for (var c = Math.max(0, r - h); c <= Math.min(C - 1, r + h); c += 1) {
          matrix.appendChild(A.svg("rect", {x: mx + c * s, y: my + r * s, width: s, height: s,
                                            fill: colours[state.rule], class: "attn-cell"}));
        }
      }
    } else {
      var pts = [[0, 0], [h + 1, 0], [C, C - h - 1], [C, C], [C - h - 1, C], [0, h + 1]];
      matrix.appendChild(A.svg("polygon", {
        points: pts.map(function (p) { return (mx + p[0] * s) + "," + (my + p[1] * s); }).join(" "),
        fill: colours[state.rule], stroke: colours[state.rule], "stroke-width": 1}));
    }
    matrix.appendChild(A.svg("text", {x: mx + mSize / 2, y: my - 8, "text-anchor": "middle",
                                      text: C + " \u00d7 " + C + ", k = " + k}));
    matrix.appendChild(A.svg("text", {x: mx + mSize / 2, y: my + mSize + 18, "text-anchor": "middle",
                                      text: A.text(labels, "band") + ": " + A.format(data.band[state.rule][state.i]) +
                                            " / " + A.format(C * C)}));
    A.show(readT, data.t[state.i]);
    data.rules.forEach(function (rule) { A.show(readK[rule], data.k[rule][state.i]); });
    A.show(readBand, data.band[state.rule][state.i]);
  }
  draw();
});
